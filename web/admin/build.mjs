// Builds the admin panel into dist/: one hashed JS and one hashed CSS file
// under assets/ (cached for a year by nginx, since a new build gives new
// names), and index.html naming them (revalidated on every load). No inline
// script or style anywhere: the admin location's CSP allows only 'self'.
// Each asset also gets a .gz twin for nginx's gzip_static.
import * as esbuild from "esbuild";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(path.join(dist, "assets"), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.jsx" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020", "chrome90", "safari14", "firefox90"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "assets/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  outdir: dist,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(dist, path.resolve(here, p)));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) throw new Error(`build produced ${outputs.join(", ")}`);

// The icon is hashed like the bundles, so every asset may be immutable.
const iconData = fs.readFileSync(path.join(here, "src", "icon.svg"));
const icon = `assets/icon-${createHash("sha256").update(iconData).digest("hex").slice(0, 8)}.svg`;
fs.writeFileSync(path.join(dist, icon), iconData);
const html = fs
  .readFileSync(path.join(here, "src", "index.html"), "utf8")
  .replace("%ICON%", icon)
  .replace("%CSS%", css)
  .replace("%JS%", js);
fs.writeFileSync(path.join(dist, "index.html"), html);

let total = 0;
let totalGz = 0;
for (const f of [js, css, icon, "index.html"]) {
  const full = path.join(dist, f);
  const data = fs.readFileSync(full);
  const gz = gzipSync(data, { level: 9 });
  fs.writeFileSync(full + ".gz", gz);
  total += data.length;
  totalGz += gz.length;
  console.log(`  ${f.padEnd(32)} ${String(data.length).padStart(7)} B  ${String(gz.length).padStart(6)} B gzip`);
}
console.log(`  ${"total".padEnd(32)} ${String(total).padStart(7)} B  ${String(totalGz).padStart(6)} B gzip`);
