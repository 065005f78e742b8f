//! A town's own site repository: what `aushang init` writes ([`scaffold`]), the blanks it leaves
//! for the town to fill ([`blanks`]), leftovers of the Musterbach example ([`leftovers`]) and
//! which aushang version a site needs ([`version`]) and upgrading a site's stored formats
//! ([`migrate`]).

pub mod blanks;
pub mod leftovers;
pub mod migrate;
pub mod scaffold;
pub mod version;

/// The repository that publishes aushang's releases (`repository` in Cargo.toml, the one place it
/// is written). Must be the real release repository: towns download from it and the cargo
/// fallback builds its tags.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// Where the release archives of a version are downloaded from (`{version}` is replaced):
/// [`REPOSITORY`]'s GitHub releases. `aushang init --release-url` (or `AUSHANG_RELEASE_URL`)
/// writes another into the town's `.aushang-version`, whose `release_url=` line a town can also
/// point at a mirror later.
pub const DEFAULT_RELEASE_URL: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/releases/download/v{version}"
);

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
