// Headless Chromium for the bridge's status-page test (Debian's `chromium` package).
//   node scripts/chromium.mjs   → prints {"path": "/usr/bin/chromium"} (installing it when absent, root only, as on CI)
// Without it and without root it prints {"skipped": "<reason>"}, unless CI is set (then it fails).
import { existsSync } from 'node:fs';
import { aptInstall } from './debian.mjs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const find = () => CANDIDATES.find((p) => existsSync(p));

let path = find();
if (!path) {
  if (process.getuid?.() !== 0) {
    const reason = 'chromium not found and not root: run `sudo apt-get install -y chromium`';
    if (process.env.CI) {
      console.error(reason);
      process.exit(1);
    }
    console.log(JSON.stringify({ skipped: reason }));
    process.exit(0);
  }
  console.error('[chromium] installing Debian package chromium (apt-get update && apt-get install -y chromium)…');
  aptInstall(['chromium']);
  path = find();
  if (!path) {
    console.error('chromium was installed but no binary found in ' + CANDIDATES.join(', '));
    process.exit(1);
  }
}
console.log(JSON.stringify({ path }));
