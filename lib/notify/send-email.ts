// Sends one email: over SMTP_URL with nodemailer, or — when no SMTP server is configured — as an
// .eml file under <data dir>/mail/, so a fresh install still shows what it would have sent.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { now } from '@/lib/clock';
import { env } from '@/lib/env';

export type EmailMessage = { to: string | string[]; subject: string; text: string };

export type SendEmailResult = { via: 'smtp'; messageId: string } | { via: 'file'; messageId: string; path: string };

export type SendEmailOptions = {
  /** Defaults to env().smtpUrl; pass null to force the .eml file fallback. */
  smtpUrl?: string | null;
  /** Defaults to env().smtpFrom. */
  from?: string;
  /** Defaults to env().dataDir (files go to <dataDir>/mail/). */
  dataDir?: string;
};

// SMTP servers that accept a connection and then stall must not hold a job forever.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

const transports = new Map<string, Transporter>();

function smtpTransport(url: string): Transporter {
  let t = transports.get(url);
  if (!t) {
    t = nodemailer.createTransport(url, SMTP_TIMEOUTS);
    transports.set(url, t);
  }
  return t;
}

function recipients(to: string | string[]): string[] {
  const list = (Array.isArray(to) ? to : [to]).map((a) => a.trim()).filter(Boolean);
  if (list.length === 0) throw new Error('An email needs at least one recipient.');
  return list;
}

/** Sends (or writes) one message. Throws when the SMTP server refuses it or cannot be reached. */
export async function sendEmail(message: EmailMessage, options: SendEmailOptions = {}): Promise<SendEmailResult> {
  const to = recipients(message.to);
  const smtpUrl = options.smtpUrl === undefined ? env().smtpUrl : options.smtpUrl;
  const from = options.from ?? env().smtpFrom;
  const mail = { from, to, subject: message.subject, text: message.text, date: now() };

  if (smtpUrl) {
    const info = await smtpTransport(smtpUrl).sendMail(mail);
    return { via: 'smtp', messageId: info.messageId };
  }

  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const info = await composer.sendMail(mail);
  const dir = path.join(options.dataDir ?? env().dataDir, 'mail');
  await mkdir(dir, { recursive: true });
  const stamp = now().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
  // Written under a temporary name first, so a reader of the folder never sees half a message.
  const temp = `${file}.tmp`;
  await writeFile(temp, info.message as Buffer, { mode: 0o640 });
  await rename(temp, file);
  return { via: 'file', messageId: info.messageId, path: file };
}
