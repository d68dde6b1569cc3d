# Shared settings for the scripts; source it, do not run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds live outside the checkout so a fresh clone (CI) starts warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segment-targeting/target}"
# npm-installed tools (binaryen's wasm-opt for release builds).
export ST_TOOLS="${ST_TOOLS:-$HOME/.cache/segment-targeting/tools}"
export PATH="$HOME/.cargo/bin:$ST_TOOLS/node_modules/.bin:$PATH"
# cargo-leptos sets this while building; setting it for plain cargo commands
# too keeps their builds from invalidating each other.
export LEPTOS_OUTPUT_NAME=segment-targeting
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() {
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}
