// End-to-end tests: the real product (`npm start` on a fresh data dir, see e2e/global-setup.ts)
// driven through Debian's Chromium.
import { defineConfig, devices } from '@playwright/test';
import { E2E_BASE_URL } from './e2e/fixtures';

export default defineConfig({
  testDir: 'e2e',
  // The API pipeline spec (e2e/api-pipeline.spec.ts) runs on a server of its own: CI runs it as a
  // separate step with DDE_E2E_PIPELINE=1, since in the same server its program would show up in the
  // other specs' program switchers.
  testIgnore: process.env.DDE_E2E_PIPELINE ? [] : ['**/api-pipeline.spec.ts'],
  // The pipeline step writes apart, so the main run's screenshots stay where the README says.
  outputDir: process.env.DDE_E2E_PIPELINE ? 'test-results/e2e-pipeline' : 'test-results/e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: E2E_BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'], viewport: { width: 1280, height: 800 } } }],
});
