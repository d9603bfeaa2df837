// Installs Debian packages the test scripts need (PostgreSQL, Chromium, Radicale, Xandikos):
// `apt-get update`, then `apt-get install -y`, non-interactive. The callers decide whether they may
// (root, or sudo where they allow it) and say what to run by hand when they may not.
import { execFileSync } from 'node:child_process';

/** `sudo`: run apt-get through sudo (not root); `recommends`: also install recommended packages. */
export function aptInstall(packages, { sudo = false, recommends = false } = {}) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => execFileSync(sudo ? 'sudo' : 'apt-get', sudo ? ['apt-get', ...args] : args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', ...(recommends ? [] : ['--no-install-recommends']), ...packages]);
}
