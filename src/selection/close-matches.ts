/** Names close to one the user typed, for a `--function` that matched nothing. Pure. */

/** Names within two edits of `name`, or containing it (case-insensitive), at most five. */
export function closeMatches(name: string, names: string[]): string[] {
  const wanted = name.toLowerCase();
  const simple = (n: string) => n.slice(n.lastIndexOf('.') + 1).toLowerCase();
  return names
    .filter((n) => n !== '(anonymous)')
    .map((n) => ({ n, d: Math.min(editDistance(wanted, n.toLowerCase()), editDistance(wanted, simple(n))) }))
    .filter(({ n, d }) => d <= 2 || n.toLowerCase().includes(wanted))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 5)
    .map(({ n }) => n);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
