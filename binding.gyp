{
  "targets": [
    {
      "target_name": "bptt",
      "sources": [
        "native/src/addon.c",
        "native/src/cpu.c",
        "native/src/gemm.c",
        "native/src/gemm_avx512.c",
        "native/src/gemm_avx2.c",
        "native/src/gemm_generic.c",
        "native/src/kernels_avx512.c",
        "native/src/kernels_avx2.c",
        "native/src/kernels_generic.c",
        "native/src/split.c",
        "native/src/threads.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"],
      "cflags!": ["-O2", "-O0"],
      # nodelete: the library stays mapped after a worker thread that loaded it exits (its pool threads and
      # thread-local destructors live in it; unmapping it crashed the process at the next thread exit).
      "ldflags": ["-pthread", "-Wl,-z,nodelete"],
      "libraries": ["-lm"],
      "conditions": [
        ["OS=='mac'", { "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-ffp-contract=off", "-fno-math-errno"] } }]
      ]
    }
  ]
}
