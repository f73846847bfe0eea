import { describe, expect, it } from 'vitest';
import { pickProgram } from './program-selection';
import { parseCookies, sessionTokenFromCookies } from './session';

const programs = [
  { id: 4021, name: 'Acme' },
  { id: 5170, name: 'Globex' },
];

describe('the program switcher', () => {
  it('keeps a chosen program the account can see', () => {
    expect(pickProgram(programs, '5170')).toEqual(programs[1]);
  });

  it('falls back to the first program for a missing, foreign or malformed choice', () => {
    expect(pickProgram(programs, undefined)).toEqual(programs[0]);
    expect(pickProgram(programs, '9999')).toEqual(programs[0]);
    expect(pickProgram(programs, '5170; drop table')).toEqual(programs[0]);
  });

  it('has nothing to show for an account without programs', () => {
    expect(pickProgram([], '4021')).toBeNull();
  });
});

describe('session cookies', () => {
  it('reads the session token, whole or in chunks', () => {
    expect(sessionTokenFromCookies(parseCookies('a=1; next-auth.session-token=abc; b=2'), 'next-auth.session-token')).toBe('abc');
    expect(
      sessionTokenFromCookies(parseCookies('next-auth.session-token.1=def; next-auth.session-token.0=abc'), 'next-auth.session-token'),
    ).toBe('abcdef');
    expect(sessionTokenFromCookies(parseCookies(null), 'next-auth.session-token')).toBeNull();
  });
});
