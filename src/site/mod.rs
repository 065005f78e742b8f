//! The notice website: rendering with the embedded default theme, feeds, sitemap.
