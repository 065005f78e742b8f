#!/usr/bin/env bash
# Site build benchmark: aushang build, aushang check, Hugo and the I/O floor on the same generated
# corpora (default 1,000, 10,000 and 50,000 notices), several runs each, interleaved so that load
# from other processes hits all of them alike. Prints medians, ratios to Hugo and to the I/O
# floor and peak memory (from /usr/bin/time -v), and writes them to benches/RESULTS.md.
#
# usage: benches/site_build.sh [SIZE ...]          e.g. benches/site_build.sh 10000
# env:   BENCH_DIR (default /tmp/aushang-bench: corpora and outputs, reused if present)
#        RUNS (runs per tool at sizes up to 10,000; default 5), RUNS_LARGE (above; default 3),
#        HUGO_RUNS_LARGE (Hugo runs above 10,000, without warm-up; default 1: Hugo needs minutes
#        and ~7 GB there), APPEND=1 (add to the samples of an earlier invocation, e.g. to run
#        50000 separately)
#        RESULTS (default benches/RESULTS.md; set to /dev/null to keep the file)
#
# Installs nothing. Needs: hugo (Debian package `hugo`), /usr/bin/time (package `time`), python3.
#
# Every timed run writes into a new, empty output folder, so no tool can skip unchanged files.
# Outputs are deleted only after all runs of a size, followed by a pause: ext4 searches past
# recently deleted inodes when it allocates new ones (about 30 s), which made a build straight
# after an `rm -rf` of 10,000 files several times slower, whichever tool it was. `sync` runs
# before every timed run so that no run pays for the writeback of the one before. The I/O floor (`aushang-dev io-floor`, src/devtools/io_floor.rs) reads every
# file under the corpus' content/, static/ and aushang.yaml and writes, in parallel, the same
# number of files with the same sizes and paths as aushang's output: what any build must at least do.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${BENCH_DIR:-/tmp/aushang-bench}
runs=${RUNS:-5}
runs_large=${RUNS_LARGE:-3}
hugo_runs_large=${HUGO_RUNS_LARGE:-1}
results=${RESULTS:-$root/benches/RESULTS.md}
now="2026-11-28 12:00"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)

missing=()
command -v hugo >/dev/null || missing+=("hugo (apt-get install hugo)")
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (apt-get install time)")
command -v python3 >/dev/null || missing+=("python3")
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  exit 1
fi

echo "building aushang and aushang-dev (release) ..." >&2
(cd "$root" && cargo build --release --quiet --bin aushang --bin aushang-dev)
bin=$root/target/release/aushang
dev=$root/target/release/aushang-dev
mkdir -p "$bench_dir"
samples=$bench_dir/samples.tsv
[ "${APPEND:-0}" = 1 ] || : > "$samples"

# measure SIZE TOOL OUTDIR CMD...: one timed run, appended to samples.tsv as
# size, tool, wall seconds, peak RSS KiB, output files, CPU seconds (user + system), and the
# 1-minute load average just before the run (other processes on the machine skew wall times).
measure() {
  local size=$1 tool=$2 out=$3
  shift 3
  sync
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  local t=$bench_dir/time.txt
  if ! /usr/bin/time -v -o "$t" "$@" > "$bench_dir/last.log" 2>&1; then
    echo "failed: $*" >&2
    cat "$bench_dir/last.log" >&2
    exit 1
  fi
  local wall rss files
  wall=$(python3 - "$t" <<'EOF'
import sys
for line in open(sys.argv[1]):
    if "Elapsed (wall clock)" in line:
        v = line.rsplit(": ", 1)[1].strip().split(":")
        s = 0.0
        for part in v:
            s = s * 60 + float(part)
        print(f"{s:.3f}")
EOF
)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$t")
  files=0
  [ "$out" != - ] && files=$(find "$out" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$tool" "$wall" "$rss" "$files" "$cpu" "$load" >> "$samples"
  printf '  %-14s %7ss  %6ss CPU  %7s MiB  %s files  load %s\n' "$tool" "$wall" "$cpu" "$((rss / 1024))" "$files" "$load" >&2
}

for n in "${sizes[@]}"; do
  site=$bench_dir/site-$n
  hugo_site=$bench_dir/hugo-$n
  if [ ! -f "$site/aushang.yaml" ]; then
    echo "generating $n notices ..." >&2
    rm -rf "$site"
    "$dev" gen-corpus --out "$site" --notices "$n" >&2
  fi
  if [ ! -f "$hugo_site/config.toml" ]; then
    "$root/benches/hugo_site.sh" "$site" "$hugo_site"
  fi
  outs=$bench_dir/out-$n
  rm -rf "$outs"
  mkdir -p "$outs"
  manifest=$bench_dir/manifest-$n.txt
  # Warm-up (page cache, and the reference output for the floor's manifest); not counted.
  "$bin" --root "$site" build --now "$now" --out "$outs/warm-aushang" > /dev/null
  [ "$n" -gt 10000 ] || hugo --quiet --source "$hugo_site" --destination "$outs/warm-hugo" > /dev/null
  (cd "$outs/warm-aushang" && find . -type f ! -name .aushang-build -printf '%s %P\n') > "$manifest"
  r=$runs
  [ "$n" -gt 10000 ] && r=$runs_large
  echo "$n notices, $r runs each:" >&2
  for i in $(seq "$r"); do
    measure "$n" "aushang build" "$outs/aushang-$i" "$bin" --root "$site" build --now "$now" --out "$outs/aushang-$i"
    measure "$n" "aushang check" - "$bin" --root "$site" check
    if [ "$n" -le 10000 ] || [ "$i" -le "$hugo_runs_large" ]; then
      measure "$n" "hugo" "$outs/hugo-$i" hugo --quiet --source "$hugo_site" --destination "$outs/hugo-$i"
    fi
    measure "$n" "I/O floor" "$outs/floor-$i" "$dev" io-floor --input "$site/content" --input "$site/static" \
      --input "$site/aushang.yaml" --manifest "$manifest" --out "$outs/floor-$i"
  done
  rm -rf "$outs"
  sync
  sleep 40
done

machine_cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
machine_ram=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
hugo_version=$(hugo version | awk '{print $2}')
commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)

python3 - "$samples" "$results" "$(nproc)" "$machine_cpu" "$machine_ram" "$hugo_version" "$commit" <<'EOF'
import statistics, sys, datetime
samples, results, nproc, cpu, ram, hugo, commit = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(samples) if l.strip()]
data = {}
for row in rows:
    size, tool, wall, rss, files = row[:5]
    d = data.setdefault((int(size), tool), {"wall": [], "rss": [], "cpu": [], "load": [], "files": int(files)})
    d["wall"].append(float(wall))
    d["rss"].append(int(rss))
    if len(row) > 5:
        d["cpu"].append(float(row[5]))
    if len(row) > 6:
        d["load"].append(float(row[6]))
tools = ["aushang build", "aushang check", "hugo", "I/O floor"]
sizes = sorted({s for s, _ in data})
lines = [
    "| notices | tool | runs | median wall (s) | min–max (s) | median CPU (s) | × Hugo | × I/O floor | × build | peak RSS (MiB) | output files | load avg (min–max) |",
    "|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
]
med = {k: statistics.median(v["wall"]) for k, v in data.items()}
for s in sizes:
    for t in tools:
        d = data.get((s, t))
        if not d:
            continue
        m = med[(s, t)]
        def ratio(other):
            o = med.get((s, other))
            return f"{m / o:.2f}" if o else "–"
        cpu_s = f"{statistics.median(d['cpu']):.2f}" if d["cpu"] else "–"
        load_s = f"{min(d['load']):.1f}–{max(d['load']):.1f}" if d["load"] else "–"
        lines.append(
            f"| {s:,} | {t} | {len(d['wall'])} | {m:.2f} | {min(d['wall']):.2f}–{max(d['wall']):.2f} "
            f"| {cpu_s} "
            f"| {ratio('hugo') if t != 'hugo' else '1'} | {ratio('I/O floor') if t != 'I/O floor' else '1'} "
            f"| {ratio('aushang build') if t == 'aushang check' else ''} "
            f"| {max(d['rss']) / 1024:.0f} | {d['files'] if d['files'] else ''} "
            f"| {load_s} |"
        )
table = "\n".join(lines)
growth = []
for t in tools:
    pts = [(s, med[(s, t)]) for s in sizes if (s, t) in med]
    if len(pts) > 1:
        per = ", ".join(f"{s:,}: {1000 * w / s:.2f} ms" for s, w in pts)
        growth.append(f"- {t}: wall time per notice {per}")
print(table)
print("\n".join(growth))
if results == "/dev/null":
    sys.exit(0)
text = f"""# Site build benchmark

Generated by `benches/site_build.sh` on {datetime.date.today()} (commit {commit}).

Machine: {nproc} cores ({cpu}), {ram} RAM; Hugo {hugo}. Other processes may have been running
(the runs of all tools are interleaved so that such load affects them alike); the last column is
the 1-minute load average before each run. With a load above the number of cores, wall times say
little and the CPU column (user + system) is the steadier figure.

Corpus: `aushang-dev gen-corpus --notices N --seed 1` (German notices over 20 years with front matter,
headings, lists, tables and links; about 2 KB each). aushang builds with `--now "2026-11-28 12:00"`;
Hugo builds a generated site with the same notices and comparable templates (`benches/hugo_site.sh`):
one page per notice, paginated front page, paginated year archives and category pages, feeds and
sitemap. The I/O floor reads every input file and writes as many files of the same sizes as
aushang's output (`aushang-dev io-floor`). Every run writes into an empty folder.

{table}

Growth with the number of notices (median wall time / notices):

{chr(10).join(growth)}

## How to run

```sh
apt-get install hugo time   # once
benches/site_build.sh              # 1,000, 10,000 and 50,000 notices (about 15 minutes)
benches/site_build.sh 10000        # one size
RUNS=3 BENCH_DIR=/var/tmp/b benches/site_build.sh 1000 10000
```
"""
open(results, "w").write(text)
print(f"wrote {results}", file=sys.stderr)
EOF
