// Spreadsheet safety of the XLSX files: a value that looks like a formula (=1+1, @SUM(A1), +1, -1)
// is written as a text cell, never a formula, so a spreadsheet shows it and computes nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '@/lib/storage';
import { writeXlsxParts } from './xlsx';

const root = mkdtempSync(path.join(os.tmpdir(), 'dde-xlsx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the xlsx encoder', () => {
  it('writes formula-like values as text cells, exactly as they came', async () => {
    const storage = new LocalStorage(root);
    const values = ['=1+1', '@SUM(A1)', '+1', '-1', '=HYPERLINK("http://example.com","x")'];
    const rows = Readable.from(values.map((v, i) => `${JSON.stringify({ id: i, job_title: v })}\n`));
    const [part] = await writeXlsxParts({ rows, headers: ['id', 'job_title'], sheetName: 'users', storage, keyForPart: () => 'f.xlsx' });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(path.join(root, part.key));
    const sheet = workbook.getWorksheet('users')!;
    const read = values.map((_, i) => sheet.getRow(i + 2).getCell(2));
    expect(read.map((c) => c.type)).toEqual(values.map(() => ExcelJS.ValueType.String));
    expect(read.map((c) => c.value)).toEqual(values);
    expect(read.every((c) => c.formula === undefined)).toBe(true);
  });
});
