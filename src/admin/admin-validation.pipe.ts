import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { malformedParameters } from '../common/query-string';

/** Where a problem sits, named the way the client sent it (`state`, `limit`, `id`, `reason`). */
function fieldOf(issue: z.core.$ZodIssue, metadata: ArgumentMetadata): string {
  const first = issue.path.find((segment) => typeof segment === 'string');
  if (typeof first === 'string') return first;
  if (metadata.data) return metadata.data;
  return metadata.type === 'body' ? 'body' : metadata.type;
}

/** One short line per problem, each starting with the field it is about. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], metadata: ArgumentMetadata): string {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        lines.push(`${key}: is not a known ${metadata.type === 'body' ? 'field' : 'parameter'}`);
    } else {
      lines.push(`${fieldOf(issue, metadata)}: ${issue.message}`);
    }
  }
  return [...new Set(lines)].slice(0, 10).join('; ');
}

/**
 * Validates a route argument against the zod schema given in its decorator
 * (`@Query({ schema })`, `@Body({ schema })`, `@Param('id', { schema })`) and hands on the
 * parsed value. Invalid input is a 400 naming each offending field; so is a query parameter
 * whose percent-encoding is not valid UTF-8 (its text is not what the client meant).
 */
@Injectable()
export class AdminValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const schema = metadata.schema;
    if (schema === undefined) return value;
    if (!(schema instanceof z.ZodType)) throw new Error('AdminValidationPipe expects zod schemas');
    if (metadata.type === 'query') {
      const malformed = malformedParameters(value);
      if (malformed.length > 0) {
        throw new BadRequestException(
          malformed
            .slice(0, 10)
            .map((name) => `${name}: is not valid percent-encoded UTF-8`)
            .join('; '),
        );
      }
    }
    const result = schema.safeParse(value);
    if (!result.success) throw new BadRequestException(describeIssues(result.error.issues, metadata));
    return result.data;
  }
}
