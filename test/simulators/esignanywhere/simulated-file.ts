import { createHash } from 'node:crypto';

// Deterministic file contents for the simulator. A file is a description (kind, size, seed, title), never
// bytes in memory: content of any size, up to gigabytes, is produced chunk by chunk on demand and is
// identical on every download, so its sha256 can be computed independently of the HTTP path.
//
// PDFs are structurally valid: header, catalog, page tree, one page per `pages` with a visible title, an
// unreferenced filler stream that brings the file to the requested size, a correct xref table, trailer
// and `%%EOF`. The filler is seeded pseudo-random data whose every 64 KiB block starts with its own index,
// so a reader that drops, repeats or reorders chunks gets a different hash.

export type CorruptionMode = 'header' | 'trailer' | 'both';

export interface SimulatedPdf {
  kind: 'pdf';
  /** Requested size in bytes; the real size is never below the minimal PDF for the given pages. */
  size: number;
  seed: string;
  title: string;
  pages: number;
}

export interface SimulatedText {
  kind: 'text';
  content: string;
}

export type SimulatedContent = SimulatedPdf | SimulatedText;

const BLOCK = 64 * 1024;
const CHUNK = 4 * BLOCK;
const LENGTH_DIGITS = 12;

interface PdfLayout {
  prefix: Buffer;
  fillerLength: number;
  suffix: Buffer;
}

const layoutCache = new Map<string, PdfLayout>();

function pdfString(text: string): string {
  // ASCII only, with the PDF string escapes; anything else becomes '?'.
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/([()\\])/g, '\\$1');
}

function layoutPdf(spec: SimulatedPdf): PdfLayout {
  const key = `${spec.size}|${spec.seed}|${spec.pages}|${spec.title}`;
  const cached = layoutCache.get(key);
  if (cached) return cached;

  const pages = Math.max(1, Math.min(200, Math.floor(spec.pages)));
  const objects: string[] = [];
  const pageRefs: string[] = [];
  const firstPageObject = 4;
  for (let i = 0; i < pages; i++) pageRefs.push(`${firstPageObject + i * 2} 0 R`);
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  objects.push(`<< /Type /Pages /Kids [${pageRefs.join(' ')}] /Count ${pages} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  for (let i = 0; i < pages; i++) {
    const content = `BT /F1 16 Tf 72 770 Td (${pdfString(spec.title)}) Tj 0 -24 Td (Page ${i + 1} of ${pages}) Tj ET`;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${firstPageObject + i * 2 + 1} 0 R >>`,
    );
    objects.push(`<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`);
  }
  const infoObject = objects.length + 1;
  objects.push(`<< /Producer (eSignAnyWhere simulator) /Title (${pdfString(spec.title)}) >>`);
  const fillerObject = objects.length + 1;

  const head = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  let text = '';
  let position = Buffer.byteLength(head, 'latin1');
  for (const [i, body] of objects.entries()) {
    const piece = `${i + 1} 0 obj\n${body}\nendobj\n`;
    offsets.push(position);
    position += Buffer.byteLength(piece, 'latin1');
    text += piece;
  }
  offsets.push(position);

  const suffixFor = (fillerLength: number): { prefix: string; suffix: string } => {
    const fillerHeader = `${fillerObject} 0 obj\n<< /Length ${String(fillerLength).padStart(LENGTH_DIGITS, '0')} >>\nstream\n`;
    const fillerTrailer = '\nendstream\nendobj\n';
    const prefix = head + text + fillerHeader;
    const xrefOffset = Buffer.byteLength(prefix, 'latin1') + fillerLength + fillerTrailer.length;
    const count = fillerObject + 1;
    let xref = `xref\n0 ${count}\n0000000000 65535 f \n`;
    for (const offset of offsets) xref += `${String(offset).padStart(10, '0')} 00000 n \n`;
    const suffix =
      fillerTrailer +
      xref +
      `trailer\n<< /Size ${count} /Root 1 0 R /Info ${infoObject} 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
    return { prefix, suffix };
  };

  // The suffix length depends (through startxref) on the filler length: settle it in a few rounds.
  let fillerLength = 0;
  for (let round = 0; round < 4; round++) {
    const { prefix, suffix } = suffixFor(fillerLength);
    const fixed = Buffer.byteLength(prefix, 'latin1') + Buffer.byteLength(suffix, 'latin1');
    const next = Math.max(0, spec.size - fixed);
    if (next === fillerLength) break;
    fillerLength = next;
  }
  const { prefix, suffix } = suffixFor(fillerLength);
  const layout: PdfLayout = {
    prefix: Buffer.from(prefix, 'latin1'),
    fillerLength,
    suffix: Buffer.from(suffix, 'latin1'),
  };
  if (layoutCache.size > 10_000) layoutCache.clear();
  layoutCache.set(key, layout);
  return layout;
}

function fillerBlock(seed: string): Buffer {
  const block = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i * 32 < BLOCK; i++) {
    createHash('sha256')
      .update(seed)
      .update(String(i))
      .digest()
      .copy(block, i * 32);
  }
  return block;
}

/** Size in bytes of what is served. */
export function contentSize(content: SimulatedContent): number {
  if (content.kind === 'text') return Buffer.byteLength(content.content);
  const layout = layoutPdf(content);
  return layout.prefix.length + layout.fillerLength + layout.suffix.length;
}

/** The content, chunk by chunk (at most 256 KiB each). Corruption keeps the size, breaks the PDF markers. */
export function* contentChunks(content: SimulatedContent, corruption?: CorruptionMode): Generator<Buffer> {
  if (content.kind === 'text') {
    yield Buffer.from(content.content);
    return;
  }
  const layout = layoutPdf(content);
  let prefix = layout.prefix;
  let suffix = layout.suffix;
  if (corruption === 'header' || corruption === 'both') {
    prefix = Buffer.from(prefix);
    prefix.write('%BAD-', 0, 'latin1');
  }
  if (corruption === 'trailer' || corruption === 'both') {
    suffix = Buffer.from(suffix);
    suffix.write('%%BAD\n', suffix.length - 6, 'latin1');
  }
  yield prefix;
  const block = fillerBlock(content.seed);
  let produced = 0;
  let blockIndex = 0;
  while (produced < layout.fillerLength) {
    const length = Math.min(CHUNK, layout.fillerLength - produced);
    const chunk = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; at += BLOCK) {
      block.copy(chunk, at, 0, Math.min(BLOCK, length - at));
      if (length - at >= 8) chunk.writeBigUInt64BE(BigInt(blockIndex), at);
      blockIndex++;
    }
    produced += length;
    yield chunk;
  }
  yield suffix;
}

/**
 * sha256 (hex) and size of the intact content, computed by regenerating it. Yields to the event loop
 * every 16 MiB so a server in the same process keeps answering while a gigabyte is hashed.
 */
export async function contentDigest(content: SimulatedContent): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  let sinceYield = 0;
  for (const chunk of contentChunks(content)) {
    hash.update(chunk);
    size += chunk.length;
    sinceYield += chunk.length;
    if (sinceYield >= 16 * 1024 * 1024) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { sha256: hash.digest('hex'), size };
}
