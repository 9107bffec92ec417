/* sim_cli.h - run `tapir sim` (sim_main in apps/sim.c) in a child process, for Check tests,
 * with its stdout and stderr captured. */
#ifndef TAPIR_SIM_CLI_H
#define TAPIR_SIM_CLI_H

#include <check.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../apps/apps.h"

#define SIM_CLI_OUT_CAP (512 * 1024)

struct cli_run {
    int status; /* exit status */
    char out[SIM_CLI_OUT_CAP], err[4096];
    size_t out_len, err_len;
};

static inline size_t cli_slurp(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

/* Run sim_main(args) (NULL-terminated) with stdout and stderr going to temporary files. */
static inline void run_cli(struct cli_run *r, const char *const *args)
{
    char *argv[16];
    int argc = 0;
    while (args[argc] && argc < 15) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert(out && err);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        int rc = sim_main(argc, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    r->status = WEXITSTATUS(status);
    r->out_len = cli_slurp(out, r->out, sizeof(r->out));
    r->err_len = cli_slurp(err, r->err, sizeof(r->err));
    ck_assert_uint_lt(r->out_len, sizeof(r->out) - 1); /* not truncated */
}

#endif
