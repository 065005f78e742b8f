#!/usr/bin/env bash
# Writes a Hugo site for a generated aushang corpus: the same notices (copied), a config that maps
# aushang's front matter (date, publish_at, expires, category), and templates comparable to the
# default aushang theme: one page per notice, a paginated front page, paginated year sections (the
# archive), paginated category (taxonomy term) pages, RSS for the site and each category (Hugo's
# built-in RSS template, 50 items), the sitemap and alias redirects (built in).
#
# usage: benches/hugo_site.sh CORPUS_DIR HUGO_SITE_DIR
set -euo pipefail
corpus=$1
site=$2
rm -rf "$site"
mkdir -p "$site/content" "$site/layouts/_default" "$site/layouts/partials" "$site/static"
cp -r "$corpus/content/notices" "$site/content/bekanntmachungen"
cp -r "$corpus/content/pages/." "$site/content/"
cp -r "$corpus/static/." "$site/static/"
# Hugo 0.111 reads `2026-11-28 09:30` as no date at all; it wants a `T` (local time, see timeZone).
find "$site/content" -name '*.md' -print0 | xargs -0 -n 2000 sed -i -E \
  's/^((date|publish_at|expires|  - date): [0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2})$/\1T\3:00/'
# Each year folder is a section: its paginated list is the year archive.
printf -- '---\ntitle: Archiv\n---\n' > "$site/content/bekanntmachungen/_index.md"
for year in "$site"/content/bekanntmachungen/*/; do
  y=$(basename "$year")
  printf -- '---\ntitle: "Archiv %s"\n---\n' "$y" > "$year/_index.md"
done

cat > "$site/config.toml" <<'EOF'
baseURL = "https://www.musterbach.example/"
languageCode = "de"
defaultContentLanguage = "de"
timeZone = "Europe/Berlin"
title = "Stadt Musterbach – Bekanntmachungen"
paginate = 10
paginatePath = "seite"
rssLimit = 50
# aushang keeps the pages of expired notices; so does this site.
buildExpired = true
enableRobotsTXT = true
disableKinds = []

[taxonomies]
kategorie = "category"

[frontmatter]
date = ["date"]
publishDate = ["publish_at", "date"]
expiryDate = ["expires"]

[permalinks]
bekanntmachungen = "/bekanntmachungen/:year/:slugorfilename/"

[outputs]
home = ["HTML", "RSS"]
section = ["HTML"]
taxonomy = ["HTML"]
term = ["HTML", "RSS"]

[params]
description = "Aktuelle Bekanntmachungen der Stadt Musterbach – Straßensperrungen, Abfuhrtermine, Ratssitzungen und Veranstaltungen."
EOF

cat > "$site/layouts/_default/baseof.html" <<'EOF'
<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} – {{ end }}{{ .Site.Title }}</title>
<meta name="description" content="{{ with .Params.summary }}{{ . }}{{ else }}{{ .Site.Params.description }}{{ end }}">
<link rel="canonical" href="{{ .Permalink }}">
<meta property="og:title" content="{{ .Title }}">
<meta property="og:description" content="{{ with .Params.summary }}{{ . }}{{ else }}{{ .Site.Params.description }}{{ end }}">
<meta property="og:url" content="{{ .Permalink }}">
<meta property="og:type" content="{{ if .IsPage }}article{{ else }}website{{ end }}">
<meta property="og:site_name" content="{{ .Site.Title }}">
<meta property="og:locale" content="de_DE">
{{ with .Params.image }}<meta property="og:image" content="{{ . | absURL }}">{{ end }}
<link rel="alternate" type="application/rss+xml" title="{{ .Site.Title }}" href="{{ "index.xml" | absURL }}">
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="/favicon.svg">
</head>
<body>
<a class="skip" href="#inhalt">Zum Inhalt springen</a>
<header class="kopf"><div class="breite">
<a class="marke" href="/">{{ .Site.Title }}</a>
<nav aria-label="Hauptnavigation"><ul>
<li><a href="/"{{ if .IsHome }} aria-current="page"{{ end }}>Aktuelles</a></li>
<li><a href="/bekanntmachungen/">Archiv</a></li>
<li><a href="/anmelden/">Anmelden</a></li>
</ul></nav>
</div></header>
<main id="inhalt" tabindex="-1" class="breite">
{{ block "main" . }}{{ end }}
</main>
<footer class="fuss"><div class="breite">
<nav aria-label="Themen"><h2>Themen</h2><ul class="themen">
{{- range .Site.Taxonomies.category.Alphabetical }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a></li>
{{- end }}
</ul></nav>
<address><strong>Stadt Musterbach – Der Bürgermeister</strong><br>Rathausplatz 1<br>59999 Musterbach<br>
Telefon: <a href="tel:+4923991230">02399 123-0</a><br>E-Mail: <a href="mailto:rathaus@musterbach.example">rathaus@musterbach.example</a></address>
<nav aria-label="Rechtliches"><ul class="recht">
<li><a href="/impressum/">Impressum</a></li><li><a href="/datenschutz/">Datenschutz</a></li>
<li><a href="/barrierefreiheit/">Barrierefreiheit</a></li><li><a href="/index.xml">Feed</a></li>
</ul></nav>
</div></footer>
</body>
</html>
EOF

cat > "$site/layouts/partials/card.html" <<'EOF'
<article class="karte{{ if .Params.urgent }} dringend{{ end }}">
<h2><a href="{{ .RelPermalink }}">{{ if .Params.urgent }}<span class="marker">Dringend:</span> {{ end }}{{ .Title }}</a></h2>
<p class="meta"><time datetime="{{ .PublishDate.Format "2006-01-02T15:04:05-07:00" }}">{{ .PublishDate.Format "2.1.2006" }}</time>{{ with .Params.category }} · <a href="{{ printf "/category/%s/" (. | urlize) }}">{{ . }}</a>{{ end }}</p>
<p>{{ .Params.summary }}</p>
</article>
EOF

cat > "$site/layouts/partials/pagination.html" <<'EOF'
{{ $p := .Paginator }}{{ if gt $p.TotalPages 1 }}<nav class="seiten" aria-label="Seiten">
{{ if $p.HasPrev }}<a href="{{ $p.Prev.URL }}" rel="prev">← Neuere</a>{{ end }}
<span>Seite {{ $p.PageNumber }} von {{ $p.TotalPages }}</span>
{{ if $p.HasNext }}<a href="{{ $p.Next.URL }}" rel="next">Ältere →</a>{{ end }}
</nav>{{ end }}
EOF

cat > "$site/layouts/index.html" <<'EOF'
{{ define "main" }}
<h1>Aktuelle Bekanntmachungen</h1>
{{/* No `where` here: the template runs once per pager page, and filtering all pages each time
     would make Hugo's front page quadratic. The four standing pages are listed too. */}}
{{ range (.Paginate .Site.RegularPages).Pages }}{{ partial "card.html" . }}{{ end }}
{{ partial "pagination.html" . }}
{{ end }}
EOF

cat > "$site/layouts/_default/list.html" <<'EOF'
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ range .Paginator.Pages }}{{ partial "card.html" . }}{{ end }}
{{ partial "pagination.html" . }}
{{ end }}
EOF

cat > "$site/layouts/_default/terms.html" <<'EOF'
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
EOF

cat > "$site/layouts/_default/single.html" <<'EOF'
{{ define "main" }}
<article class="bekanntmachung{{ if .Params.urgent }} dringend{{ end }}">
<header>
{{ if .Params.urgent }}<p class="marker">Dringend</p>{{ end }}
<h1>{{ .Title }}</h1>
<p class="meta">Veröffentlicht am <time datetime="{{ .PublishDate.Format "2006-01-02T15:04:05-07:00" }}">{{ .PublishDate.Format "2.1.2006, 15:04 Uhr" }}</time>{{ with .Params.category }} in <a href="{{ printf "/category/%s/" (. | urlize) }}">{{ . }}</a>{{ end }}</p>
{{ with .ExpiryDate }}{{ if not .IsZero }}<p class="meta">Gültig bis {{ .Format "2.1.2006" }}</p>{{ end }}{{ end }}
</header>
{{ with .Params.updates }}<section class="aktualisierungen"><h2>Aktualisierungen</h2><ol>
{{ range . }}<li>{{ .date }}: {{ .text }}</li>{{ end }}</ol></section>{{ end }}
{{ with .Params.summary }}<p class="zusammenfassung">{{ . }}</p>{{ end }}
{{ with .Params.image }}<figure><img src="/{{ . }}" alt="{{ $.Params.image_alt }}"></figure>{{ end }}
<div class="inhalt">
{{ .Content }}
</div>
{{ with .Params.attachments }}<section class="anhaenge"><h2>Anlagen</h2><ul>
{{ range . }}<li><a href="/{{ .file }}">{{ .label }}</a></li>{{ end }}</ul></section>{{ end }}
{{ with .Params.tags }}<p class="schlagworte">Schlagworte: {{ delimit . ", " }}</p>{{ end }}
</article>
<p><a href="/">Zu allen aktuellen Bekanntmachungen</a></p>
{{ end }}
EOF
