/**
 * CSV as RFC 4180 says: fields separated by commas; a field containing commas, quotes or line
 * breaks is enclosed in double quotes, and a quote inside it is doubled ("say ""hi"""). The first
 * record is the header (required) naming the columns; every later record has exactly as many fields.
 *
 * Isomorphic, reading lines numbered from 1 (CRLF files are fine: a trailing "\r" is dropped). A
 * quoted field may span lines; its line breaks become "\n", and errors name the line its record
 * starts on. Blank lines outside quotes are skipped (most CSV writers end with one). Header names
 * are trimmed of surrounding spaces; field values are kept exactly.
 *
 * Malformed input is refused with the line and, where it helps, the column:
 *   data.csv:7: 3 fields, the header has 2
 *   data.csv:4: column 2: a quote inside an unquoted field (enclose the field in quotes and double the quote)
 *   data.csv:4: column 2: characters after the closing quote
 *   data.csv:9: a quoted field is never closed
 */
import type { TextExample } from "../classification.js";
import { type LineSource, type ParseOptions, numberedLines } from "./jsonl.js";

export interface CsvRecord {
  /** The line the record starts on (1-based; the header is line 1 unless blank lines precede it). */
  line: number;
  fields: string[];
}

const QUOTE = 34; // "
const COMMA = 44; // ,

/** Splits lines into records (no header handling). */
export async function* parseCsvRecords(lines: LineSource, { source }: ParseOptions): AsyncGenerator<CsvRecord> {
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let start = 0;
  for await (const [line, text] of numberedLines(lines)) {
    if (inQuotes) {
      field += "\n";
    } else {
      if (text.trim() === "") continue;
      start = line;
    }
    // A field is: unquoted (no quote anywhere in it), or quoted from its first character to its
    // closing quote, which must be followed by a comma or the end of the line.
    let i = 0;
    let atFieldStart = !inQuotes;
    while (i <= text.length) {
      if (inQuotes) {
        const quote = text.indexOf('"', i);
        if (quote < 0) {
          field += text.slice(i);
          break;
        }
        field += text.slice(i, quote);
        if (text.charCodeAt(quote + 1) === QUOTE) {
          field += '"';
          i = quote + 2;
          continue;
        }
        inQuotes = false;
        i = quote + 1;
        if (i < text.length && text.charCodeAt(i) !== COMMA) {
          throw new RangeError(`${source}:${line}: column ${fields.length + 1}: characters after the closing quote (a quote inside a quoted field must be doubled)`);
        }
        fields.push(field);
        field = "";
        i++; // past the comma, or past the end
        atFieldStart = true;
        if (i > text.length) break;
        continue;
      }
      if (atFieldStart && text.charCodeAt(i) === QUOTE) {
        inQuotes = true;
        i++;
        continue;
      }
      let comma = text.indexOf(",", i);
      if (comma < 0) comma = text.length;
      const value = text.slice(i, comma);
      if (value.includes('"')) {
        throw new RangeError(`${source}:${line}: column ${fields.length + 1}: a quote inside an unquoted field (enclose the field in quotes and double the quote)`);
      }
      fields.push(value);
      i = comma + 1;
      atFieldStart = true;
    }
    if (inQuotes) continue;
    yield { line: start, fields };
    fields = [];
  }
  if (inQuotes) throw new RangeError(`${source}:${start}: a quoted field is never closed`);
}

export interface CsvRow {
  line: number;
  /** One value per header column, in header order. */
  fields: string[];
}

export interface CsvTable {
  /** Column names, trimmed. */
  header: string[];
  /** The index of a column by name; throws, naming the file and the columns there are, if absent. */
  column(name: string): number;
  /** The data records, each checked to have as many fields as the header. Iterate once. */
  rows: AsyncIterable<CsvRow>;
}

/**
 * Reads the header (refusing a missing one, empty or repeated names, and missing `required` columns)
 * and returns the table whose rows are read as they are iterated. Throws when there is no data row.
 */
export async function readCsv(lines: LineSource, options: ParseOptions & { required?: readonly string[] }): Promise<CsvTable> {
  const { source } = options;
  const records = parseCsvRecords(lines, options);
  const first = await records.next();
  if (first.done) throw new RangeError(`${source}: no header row (the file has only blank lines)`);
  const headerLine = first.value.line;
  const header = first.value.fields.map((name) => name.trim());
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === "") throw new RangeError(`${source}:${headerLine}: column ${i + 1} of the header has no name`);
    if (index.has(name)) throw new RangeError(`${source}:${headerLine}: the header names column "${name}" twice (columns ${index.get(name)! + 1} and ${i + 1})`);
    index.set(name, i);
  });
  const column = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new RangeError(`${source}:${headerLine}: no column "${name}" (the columns are ${header.map((h) => JSON.stringify(h)).join(", ")})`);
    return i;
  };
  for (const name of options.required ?? []) column(name);
  async function* rows(): AsyncGenerator<CsvRow> {
    let count = 0;
    for await (const { line, fields } of records) {
      if (fields.length !== header.length) throw new RangeError(`${source}:${line}: ${fields.length} fields, the header has ${header.length}`);
      count++;
      yield { line, fields };
    }
    if (count === 0) throw new RangeError(`${source}: no data rows after the header`);
  }
  return { header, column, rows: rows() };
}

export interface CsvClassificationOptions extends ParseOptions {
  /** Default "text". */
  textColumn?: string;
  /** Default "label". */
  labelColumn?: string;
}

/** classify: a text column and a label column (other columns are ignored). */
export async function* parseCsvClassification(lines: LineSource, options: CsvClassificationOptions): AsyncGenerator<TextExample> {
  const textColumn = options.textColumn ?? "text";
  const labelColumn = options.labelColumn ?? "label";
  const table = await readCsv(lines, { source: options.source, required: [textColumn, labelColumn] });
  const textAt = table.column(textColumn);
  const labelAt = table.column(labelColumn);
  for await (const { line, fields } of table.rows) {
    const label = fields[labelAt]!;
    if (label.trim() === "") throw new RangeError(`${options.source}:${line}: column "${labelColumn}" is empty`);
    yield { text: fields[textAt]!, label, line };
  }
}
