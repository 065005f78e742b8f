//! A town's own site repository: what `aushang init` writes ([`scaffold`]), the blanks it leaves
//! for the town to fill ([`blanks`]), leftovers of the Musterbach example ([`leftovers`]) and
//! which aushang version a site needs ([`version`]).

pub mod blanks;
pub mod leftovers;
pub mod scaffold;
pub mod version;

/// Where the release archives of a version are downloaded from (`{version}` is replaced). A town
/// can point `release_url` in `.aushang-version` at a mirror.
pub const DEFAULT_RELEASE_URL: &str =
    "https://github.com/aushang/aushang/releases/download/v{version}";

/// The file in a town's repository that pins the aushang release its CI and laptops install.
pub const PIN_FILE: &str = ".aushang-version";

/// The target GitHub's `ubuntu-latest` runners install; `init` leaves a blank for its SHA-256.
pub const CI_TARGET: &str = "x86_64-unknown-linux-musl";

/// Every target a release publishes an archive for (`.tar.gz`; Windows gets a `.zip`).
pub const RELEASE_TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];
