# Cross-compiling for aarch64 Linux with Debian's g++-aarch64-linux-gnu; the
# libraries come from Debian multiarch (scripts/install-deps.sh --aarch64).
# Test binaries run through qemu-user (ctest and gtest discovery use it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Libraries of this architecture only; header-only packages (nlohmann_json,
# CLI11) are architecture-independent and come from /usr/share.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# No -L/QEMU_LD_PREFIX: the binaries run on the arm64 libc of multiarch, whose
# libraries the loader finds by itself; the cross toolchain's loader
# (/usr/aarch64-linux-gnu) with that libc hangs at thread creation (their
# Debian versions differ). QEMU_CPU picks the emulated CPU (default max).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
