import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, renderConsentPage } from './consent-page';

describe('consent pages', () => {
  it('escape every value they show', () => {
    const hostile = `<script>alert("x")</script>&'`;
    const html = renderConsentPage({
      title: hostile,
      paragraphs: [hostile],
      link: { href: `https://esaw.example/?a="><script>`, text: hostile },
      outcome: hostile,
    });
    assert.ok(!html.includes('<script>'));
    assert.ok(!html.includes('"><'));
    assert.equal(
      html.split(escapeHtml(hostile)).length - 1,
      6,
      'title and heading, paragraph, link text, outcome attribute and reference',
    );
  });

  it('escape the five HTML metacharacters', () => {
    assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
  });
});
