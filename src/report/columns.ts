/**
 * What each column of the line table means, in one place: the text table's legend, `lineprof run --help` and
 * docs/columns.md all say the same thing. memory_profiler changed the meaning of "Increment" three times; ours is
 * fixed here and versioned with the JSON schema.
 */
export interface ColumnDefinition {
  title: string;
  jsonField: string;
  meaning: string;
}

export const COLUMNS: readonly ColumnDefinition[] = [
  { title: 'Line #', jsonField: 'line', meaning: 'line number in the source file (1-based)' },
  {
    title: 'Mem usage',
    jsonField: 'memUsageBytes',
    meaning: "JS heap in use right after the line ran (largest over its occurrences), lineprof's own garbage removed",
  },
  {
    title: 'Increment',
    jsonField: 'netBytes',
    meaning:
      'net change of the JS heap over all occurrences of the line: what it allocated minus what garbage collections ' +
      'that ran during it freed (so it can be negative)',
  },
  {
    title: 'Allocated',
    jsonField: 'allocatedBytes',
    meaning: 'bytes the line allocated on the JS heap over all its occurrences, whatever was freed meanwhile',
  },
  {
    title: 'External',
    jsonField: 'externalBytes',
    meaning: 'change of memory held outside the JS heap by ArrayBuffers, typed arrays and Buffers',
  },
  { title: 'Occurrences', jsonField: 'occurrences', meaning: 'times the line ran' },
  {
    title: 'Suspended',
    jsonField: 'suspendedBytes',
    meaning:
      'async functions and generators only: bytes allocated by any code from the start of the line until the call ' +
      'resumed after an await or yield on it, with the number of suspensions (suspensions); not in the other figures',
  },
  { title: 'Line Contents', jsonField: 'content', meaning: 'the source line' },
];

export const COLUMN_NOTES = [
  'Figures include what the line\'s calls allocated (calls out of the function are charged to the calling line).',
  '* a garbage collection ran during some occurrences: Increment includes what it freed, Allocated does not.',
  '! a call left the function by a throw here: the line is charged up to the next reading.',
];
