"""The one C extension of the SFU's send path (weir.sfu.rtc._srtpsend, see weir.sfu.rtc.srtpsend); the rest of
the package is described in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("weir.sfu.rtc._srtpsend", ["src/weir/sfu/rtc/_srtpsend.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"])])
