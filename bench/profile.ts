/** Where the CPU time went: a V8 CPU profile summed up by function and by package. */

export interface CpuProfile {
  nodes: {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  /** Busy (non-idle) time in the profile, ms. */
  busyMs: number;
  wallMs: number;
  byArea: { area: string; pct: number }[];
  byFunction: { fn: string; pct: number }[];
}

/** Which package (or part of ours, or of Node) a script belongs to. */
function area(url: string, root: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node core';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const local = url.replace(/^file:\/\//, '').replace(`${root}/`, '');
  const ours = /(?:dist\/)?(src\/[^/]+(?:\/[^/]+)?|bench)/.exec(local);
  return ours ? ours[1] : local;
}

export function summarizeProfile(profile: CpuProfile, root: string): ProfileSummary {
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = wallMs / total;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const a = functionName.startsWith('(') ? functionName : area(url, root);
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
    const file = url.split('/').slice(-2).join('/');
    const fn = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  const busy = total - idle || 1;
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, k)
      .map(([name, hits]) => ({ name, pct: Math.round((1000 * hits) / busy) / 10 }));
  return {
    busyMs: Math.round(busy * msPerHit),
    wallMs: Math.round(wallMs),
    byArea: top(byArea, 14).map(({ name, pct }) => ({ area: name, pct })),
    byFunction: top(byFunction, 20).map(({ name, pct }) => ({ fn: name, pct })),
  };
}
