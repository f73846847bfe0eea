import { describe, expect, it } from 'vitest';
import { parseCsv } from '@/test/helpers/csv';
import { csvCell, csvRow } from './csv';

describe('CSV cells', () => {
  it('quote what would break a row, doubling quotes, and read back as written', () => {
    const cells = ['plain', 'a,b', 'say "hi"', 'two\r\nlines', 'one\nline', '', 'ünïcode → ok'];
    expect(csvRow(cells)).toBe('plain,"a,b","say ""hi""","two\r\nlines","one\nline",,ünïcode → ok\r\n');
    expect(parseCsv(csvRow(cells))).toEqual([cells]);
  });

  it('keep a spreadsheet from running a cell as a formula: = + - @ tab CR first get a leading quote', () => {
    for (const text of ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) {
      expect(parseCsv(csvRow([text]))[0][0]).toBe(`'${text}`);
    }
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell("'=already")).toBe("'=already");
  });

  it('write numbers, booleans, dates and empty values as they are', () => {
    expect(csvRow([42, -1.5, true, false, new Date('2026-11-28T08:00:00Z'), null, undefined, Number.NaN])).toBe(
      '42,-1.5,true,false,2026-11-28T08:00:00.000Z,,,\r\n',
    );
  });
});
