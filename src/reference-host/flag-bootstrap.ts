import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FEATURE_FLAG } from '../audit-event-streaming';

/**
 * Writes an `UNLEASH_BOOTSTRAP` file (what Unleash's client features endpoint returns) turning
 * the streaming flag on for these root group ids, or for every group when omitted; answers its
 * path. For offline runs: the e2e suites, the bench, a demo without an Unleash server.
 */
export function flagBootstrapFile(groupIds?: number[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aes-flags-')), 'flags.json');
  const constraints = groupIds
    ? [{ contextName: 'groupId', operator: 'IN', values: groupIds.map(String) }]
    : [];
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      features: [
        {
          name: DEFAULT_FEATURE_FLAG,
          enabled: true,
          strategies: [{ name: 'default', constraints }],
        },
      ],
    }),
  );
  return file;
}
