// The UI alone in Debian's Chromium, with the IPC mocked: fast journeys through every screen.
import { defineConfig } from '@playwright/test';

const port = 4179;
export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  reporter: 'list',
  workers: 1,
  outputDir: '../../target/ui-test-results',
  webServer: {
    command: `npx vite preview --config ui/vite.config.ts --port ${port} --strictPort --host 127.0.0.1`,
    cwd: '../..',
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
  },
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    // Times show in the analyst's locale and zone: fixed here so the journeys can read them.
    locale: 'en-US',
    timezoneId: 'UTC',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'disabled:', NO_AT_BRIDGE: '1' },
    },
  },
});
