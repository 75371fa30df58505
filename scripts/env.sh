# Sourced by the other scripts: where tools and build caches live, outside the clone, so a
# fresh clone (CI) reuses what an earlier run built. Override with THIDUA_CACHE.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THIDUA_CACHE="${THIDUA_CACHE:-$HOME/.cache/thidua}"
export THIDUA_TOOLS="${THIDUA_TOOLS:-$THIDUA_CACHE/tools}"
export PATH="$HOME/.cargo/bin:$THIDUA_TOOLS/node_modules/.bin:$PATH"
# One build cache per workspace: the native one (rustup stable) and the wasm32 one (Debian's
# rustc-web with build-std) never share artefacts.
NATIVE_TARGET="${CARGO_TARGET_DIR:-$THIDUA_CACHE/target}"
WASM_TARGET="${THIDUA_WASM_TARGET_DIR:-$THIDUA_CACHE/target-wasm}"
export CARGO_TARGET_DIR="$NATIVE_TARGET"

# Runs a command with the frontend's toolchain. Trunk runs cargo from the folder of
# Trunk.toml, where frontend/rust-toolchain.toml and frontend/.cargo/config.toml do not
# apply, so their settings are given here as environment too.
wasm_env() {
  RUSTUP_TOOLCHAIN=/usr CARGO_TARGET_DIR="$WASM_TARGET" \
    CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_BUILD_TARGET=wasm32-unknown-unknown \
    RUSTC_BOOTSTRAP=1 "$@"
}

# Builds the release app into dist/, with Brotli and gzip copies for the server to send.
# A panic aborts at once, with no message formatting linked in, Debug formatting and panic
# locations are compiled out, and the standard library is built for size: the shell's
# budget is 300 KB compressed (README, "Budgets").
# Two modules: the shell every tablet loads (`frontend/index.html`) and the editor module
# for secretaries and administrators (`frontend/editor.html`, `--features editor`), served
# under /editor/. The shell's build empties dist/, so it goes first.
build_app() {
  (cd "$ROOT" \
    && export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
       CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size \
    && wasm_env trunk build --release \
    && wasm_env trunk build frontend/editor.html --release=true --dist dist/editor --public-url /editor/ \
    && node scripts/node/precompress.mjs dist)
}
