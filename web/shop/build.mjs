// Builds the storefront into dist/: one JS and one CSS bundle with content
// hashes in their names (cached for a year), index.html naming them
// (revalidated on every load), and a .gz twin of every text file for
// nginx's gzip_static. Exits non-zero when the first load (the JS and CSS
// index.html names, gzipped) is over the budget, so `make web` and with it
// `make test` fail.
//
// Environment: SHOP_BOT_USERNAME (or BOT_USERNAME) is the bot the Login
// Widget signs in with outside Telegram; without it the page offers the
// bot's link instead. SHOP_BUDGET_BYTES overrides the 60 KB budget and
// SHOP_DIST the output directory (the test that proves the check can fail
// uses both).
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, constants } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = process.env.SHOP_DIST || join(here, "dist");
const BASE = "/shop/";
const BUDGET = Number(process.env.SHOP_BUDGET_BYTES || 60 * 1024);

function botUsername() {
	let name = process.env.SHOP_BOT_USERNAME || process.env.BOT_USERNAME || "";
	if (!name) {
		// The project's .env, as the programs read it.
		try {
			const env = readFileSync(join(here, "..", "..", ".env"), "utf8");
			const m = env.match(/^\s*(?:SHOP_BOT_USERNAME|BOT_USERNAME)\s*=\s*["']?([^"'\s]*)/m);
			if (m) name = m[1];
		} catch {
			/* no .env: no widget */
		}
	}
	name = name.replace(/^@/, "");
	if (name && !/^[A-Za-z0-9_]{5,32}$/.test(name)) {
		console.error(`shop: bot username ${JSON.stringify(name)} is not a Telegram username`);
		process.exit(1);
	}
	return name;
}

const escapeAttr = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });

const result = await esbuild.build({
	absWorkingDir: here,
	entryPoints: [join(src, "main.jsx")],
	bundle: true,
	minify: true,
	format: "esm",
	target: ["es2020", "chrome87", "safari15", "firefox78"],
	jsx: "automatic",
	jsxImportSource: "preact",
	outdir: join(dist, "assets"),
	entryNames: "[name]-[hash]",
	assetNames: "[name]-[hash]",
	publicPath: BASE + "assets/",
	metafile: true,
	legalComments: "none",
	logLevel: "warning",
	define: { "process.env.NODE_ENV": '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => relative(dist, join(here, p)));
const js = outputs.filter((p) => p.endsWith(".js"));
const css = outputs.filter((p) => p.endsWith(".css"));
if (js.length !== 1 || css.length !== 1) {
	console.error(`shop: expected one JS and one CSS bundle, got ${outputs.join(", ")}`);
	process.exit(1);
}

let html = readFileSync(join(src, "index.html"), "utf8");
html = html
	.replace("@CSS@", BASE + css[0])
	.replace("@JS@", BASE + js[0])
	.replace("@BOT@", escapeAttr(botUsername()));
writeFileSync(join(dist, "index.html"), html);
writeFileSync(join(dist, "icon.svg"), readFileSync(join(src, "icon.svg")));

// Precompressed twins for gzip_static: slow links get level 9 without
// nginx compressing on every request.
const sizes = {};
function walk(dir) {
	for (const name of readdirSync(dir)) {
		const p = join(dir, name);
		if (statSync(p).isDirectory()) {
			walk(p);
			continue;
		}
		if (!/\.(html|js|css|svg)$/.test(name)) continue;
		const raw = readFileSync(p);
		const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
		writeFileSync(p + ".gz", gz);
		sizes[relative(dist, p)] = { raw: raw.length, gz: gz.length };
	}
}
walk(dist);

const first = ["index.html", js[0], css[0]];
const firstJsCss = sizes[js[0]].gz + sizes[css[0]].gz;
const report = {
	budgetBytes: BUDGET,
	firstLoadJsCssGzipBytes: firstJsCss,
	files: Object.fromEntries(first.map((f) => [f, sizes[f]])),
	hash: createHash("sha256").update(html).digest("hex").slice(0, 12),
};
writeFileSync(join(dist, "build-report.json"), JSON.stringify(report, null, 2) + "\n");
const kb = (n) => (n / 1024).toFixed(1) + " KB";
console.log(
	`  shop: first load ${kb(firstJsCss)} gzip of JS+CSS (budget ${kb(BUDGET)}): ` +
		`${js[0]} ${kb(sizes[js[0]].gz)}, ${css[0]} ${kb(sizes[css[0]].gz)}`,
);
if (firstJsCss > BUDGET) {
	console.error(`shop: over budget: ${firstJsCss} > ${BUDGET} bytes gzip of JS+CSS on first load`);
	process.exit(1);
}
