#!/usr/bin/env node
// `npx dde <command>`: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';
register();
await import('./cli.ts');
