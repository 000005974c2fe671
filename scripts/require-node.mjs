// Plain JavaScript on purpose: it must run (and say what to install) on any Node, before
// the dependencies that need Node 22+ (better-sqlite3 13's addon, tsx) are even loaded.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `census-etl needs Node.js 22 or later (24 LTS recommended); this is Node ${process.versions.node}. ` +
      'Install Node 24 from https://nodejs.org (or `nvm install 24`) and run the command again.\n',
  );
  process.exit(1);
}
