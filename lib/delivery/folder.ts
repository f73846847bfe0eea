// The destination folder of an SFTP connection: validated once at set-up, immutable afterwards.
// Rule: absolute or relative to the login folder, never with ".." segments or control characters.
import path from 'node:path';
import { z } from 'zod';

const MAX_LENGTH = 1024;
// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a folder is refused, or null when it is acceptable. */
export function destinationFolderProblem(folder: string): string | null {
  if (folder.length > MAX_LENGTH) return `The folder path is too long (at most ${MAX_LENGTH} characters).`;
  if (CONTROL.test(folder)) return 'The folder path must not contain control characters (such as line breaks or tabs).';
  if (folder.includes('\\')) return 'Use "/" to separate folders in the path, not "\\".';
  if (folder.split('/').some((segment) => segment === '..')) return 'The folder path must not contain ".." segments.';
  if (folder.startsWith('~')) return 'Write the folder relative to the login folder (e.g. "uploads") or as an absolute path, not with "~".';
  return null;
}

/** Normalized form: duplicate and trailing slashes and "." segments removed; "" means the login folder. */
export function normalizeDestinationFolder(folder: string): string {
  const trimmed = folder.trim();
  if (trimmed === '' || trimmed === '.' || trimmed === './') return '.';
  const normalized = path.posix.normalize(trimmed);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

/** zod schema for the set-up form: refuses bad folders with a clear message, yields the normalized path. */
export const destinationFolderSchema = z
  .string({ error: 'Enter the destination folder.' })
  .superRefine((value, ctx) => {
    const problem = destinationFolderProblem(value.trim());
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizeDestinationFolder);

/** Remote path of a file in the destination folder. */
export function remotePathIn(folder: string, name: string): string {
  const f = normalizeDestinationFolder(folder);
  return f === '.' ? name : path.posix.join(f, name);
}
