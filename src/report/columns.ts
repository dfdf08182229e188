/**
 * What each column of the line table and each mark means, in one place: the text table's legend
 * (report/text.ts), `lineprof run --help` and docs/columns.md all come from here (a unit test holds the doc's tables
 * to these). memory_profiler changed the meaning of "Increment" three times; ours is fixed here and versioned with
 * the JSON schema.
 */
export interface ColumnDefinition {
  title: string;
  jsonField: string;
  /** The full meaning: `--help` and the docs' table. */
  meaning: string;
  /** The few words the legend under the table gives it; none for a column whose title says enough. */
  legend?: string;
  /** Shown only for some functions (Suspended: those that were suspended): its legend line comes only with it. */
  conditional?: boolean;
}

export const COLUMNS: readonly ColumnDefinition[] = [
  {
    title: 'Line #',
    jsonField: 'line',
    meaning: 'line number in the source file (1-based; for a source-mapped function, in the original file)',
  },
  {
    title: 'Mem usage',
    jsonField: 'memUsageBytes',
    meaning:
      "JS heap in use right after the line ran (the largest over its occurrences), lineprof's own garbage removed; " +
      'blank when the line never ran',
  },
  {
    title: 'Increment',
    jsonField: 'netBytes',
    meaning:
      'net change of the JS heap over all occurrences of the line: what it allocated minus what garbage collections ' +
      'that ran during it freed (so it can be negative)',
    legend: 'heap change (net)',
  },
  {
    title: 'Allocated',
    jsonField: 'allocatedBytes',
    meaning: 'bytes the line allocated on the JS heap over all its occurrences, whatever was freed meanwhile',
    legend: 'bytes allocated (gross)',
  },
  {
    title: 'External',
    jsonField: 'externalBytes',
    meaning: 'change of memory held outside the JS heap by ArrayBuffers, typed arrays and Buffers',
    legend: 'ArrayBuffer/Buffer memory',
  },
  { title: 'Occurrences', jsonField: 'occurrences', meaning: 'times the line ran (a for header: iterations + 1)' },
  {
    title: 'Suspended',
    jsonField: 'suspendedBytes',
    meaning:
      'async functions and generators only (the column appears when a call was suspended): bytes allocated by any ' +
      'code from the start of the line until the call resumed after an await or yield on it, and how many times ' +
      '(3x; suspensions in JSON); not in Increment, Allocated or the totals',
    legend:
      "bytes allocated (by any code) while the call waited at an await or yield on the line, with its suspensions: " +
      "not in the line's other figures",
    conditional: true,
  },
  { title: 'Line Contents', jsonField: 'content', meaning: 'the source line' },
];

export interface MarkDefinition {
  /** Printed right after the Increment figure. */
  mark: string;
  jsonField: string;
  meaning: string;
  legend: string;
}

export const MARKS: readonly MarkDefinition[] = [
  {
    mark: '*',
    jsonField: 'gcAffected',
    meaning:
      'a garbage collection ran during some occurrences of the line: Increment includes what it freed, Allocated ' +
      'does not',
    legend: 'a GC ran during the line: Increment includes what it freed, Allocated does not',
  },
  {
    mark: '!',
    jsonField: 'thrownIntervals',
    meaning: 'a call left the function by a throw on this line: the line is charged up to the next reading',
    legend: 'left by a throw here',
  },
];

/** What every byte figure includes. */
export const FIGURES_NOTE = "Figures include what each line's calls allocated";

/** The legend under the tables (the conditional columns' lines come from conditionalLegend). */
export function tableLegend(): string[] {
  return [
    COLUMNS.filter((c) => c.legend !== undefined && !c.conditional)
      .map((c) => `${c.title} = ${c.legend}`)
      .join(', ') + '.',
    MARKS.map((m) => `${m.mark} ${m.legend}.`).join('  '),
    `${FIGURES_NOTE}. See \`lineprof run --help\` or docs/columns.md.`,
  ];
}

/** The legend line of a conditional column (Suspended), for when the table shows it. */
export function conditionalLegend(title: string): string {
  const column = COLUMNS.find((c) => c.title === title && c.conditional && c.legend !== undefined);
  if (!column) throw new Error(`no conditional column ${title}`);
  return `${column.title} = ${column.legend}.`;
}

/** `lineprof run --help`'s description of the table. */
export function columnHelp(): string {
  return [
    ...COLUMNS.map((c) => `  ${c.title.padEnd(13)} ${c.meaning}`),
    'After the Increment figure:',
    ...MARKS.map((m) => `  ${m.mark.padEnd(13)} ${m.meaning}`),
    `${FIGURES_NOTE} (calls out of the function are charged to the calling line).`,
  ].join('\n');
}
