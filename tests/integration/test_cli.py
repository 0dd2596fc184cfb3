"""The command line's contract: help, unknown flags, exit codes, bad CSV
input named by file, line and column, corrupt model files refused by name, and
output paths that are not regular files refused before anything is written.
"""
import os
import stat
import subprocess

from lstmad_cli import BIN, REPO, Checks, run, tempdir

SEED_CSV = os.path.join(REPO, "examples", "seed", "timeseries.csv")


def expect_bad(checks, name, args, *needles):
    proc = run(*args, check=False)
    missing = [n for n in needles if n not in proc.stderr]
    checks.check(name, proc.returncode == 2 and not missing,
                 f"exit {proc.returncode}, stderr {proc.stderr.strip()!r}")


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def refused_destination(checks, name, args, path, kind, command):
    """`args` names `path` (a device, directory or FIFO, maybe through a symlink)
    as an output: exit 2 at once, one exact error line, `path` left as it was."""
    before = os.stat(path)
    proc = run(*args, check=False, timeout=60)
    after = os.stat(path)
    expected = f"lstmad {command}: error: {path}: not a regular file ({kind}): refusing to replace it\n"
    checks.check(f"{name}: exit 2 with one exact message", proc.returncode == 2 and
                 proc.stderr.endswith(expected), f"exit {proc.returncode}, stderr {proc.stderr[-300:]!r}")
    checks.check(f"{name}: the destination is untouched",
                 stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
                 and after.st_rdev == before.st_rdev and not os.path.lexists(path + ".tmp"))
    return proc


def destinations(checks, d, model):
    """Every writer goes through core::WriteFileAtomically, which will not
    rename a file over a device: as root, `--out /dev/null` would otherwise
    replace /dev/null for the whole machine (issue 18, finding 5)."""
    proc = refused_destination(checks, "train --out /dev/null",
                               ["train", "--data", SEED_CSV, "--lookback", 3, "--encoder", "8", "--decoder", "8",
                                "--epochs", 50, "--validation-split", 0, "--out", "/dev/null"],
                               "/dev/null", "a character device", "train")
    checks.check("train --out /dev/null is refused before training", "loss" not in proc.stderr, proc.stderr[:200])
    checks.check("/dev/null is still a character device", stat.S_ISCHR(os.stat("/dev/null").st_mode))
    folder = os.path.join(d, "folder")
    os.mkdir(folder)
    refused_destination(checks, "train --out DIRECTORY",
                        ["train", "--data", SEED_CSV, "--lookback", 3, "--out", folder], folder, "a directory", "train")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    refused_destination(checks, "score --plot FIFO", ["score", "--model", model, "--data", SEED_CSV, "--plot", fifo],
                        fifo, "a FIFO", "score")
    refused_destination(checks, "simulate --csv /dev/null", ["simulate", "--csv", "/dev/null"],
                        "/dev/null", "a character device", "simulate")
    labelled = write(os.path.join(d, "labelled.csv"),
                     "x,x3,label\n" + "".join(f"{i / 10},{(i / 10) ** 3},{int(i == 7)}\n" for i in range(1, 10)))
    refused_destination(checks, "evaluate --plot /dev/null",
                        ["evaluate", "--model", model, "--data", labelled, "--plot", "/dev/null"],
                        "/dev/null", "a character device", "evaluate")
    refused_destination(checks, "evaluate-stream --save-model /dev/null",
                        ["evaluate-stream", "--data", labelled, "--save-model", "/dev/null"],
                        "/dev/null", "a character device", "evaluate-stream")
    # NAB results: DIR/<category>/<detector>_<file>; a symlink there to /dev/null.
    nab = os.path.join(d, "nab")
    os.makedirs(os.path.join(nab, os.path.basename(d)))
    link = os.path.join(nab, os.path.basename(d), "lstmad_labelled.csv")
    os.symlink("/dev/null", link)
    refused_destination(checks, "evaluate --nab-results onto a link to /dev/null",
                        ["evaluate", "--model", model, "--data", labelled, "--nab-results", nab],
                        link, "a character device", "evaluate")
    checks.check("...and the link still points at /dev/null", os.readlink(link) == "/dev/null")


def run_measured(*args):
    """Runs lstmad; returns (exit code, stderr, peak resident memory in MB)
    of that one child, from wait4's rusage."""
    proc = subprocess.Popen([BIN, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, stderr, usage.ru_maxrss / 1024


def huge_model_files(checks, d):
    """Issue 18, finding 9: a model path naming a device, or a huge file that
    is not a model, is refused at once, with bounded memory (it used to peak
    at 4.2 GB for /dev/zero)."""
    code, err, peak = run_measured("summary", "/dev/zero")
    checks.check("summary /dev/zero: exit 2, named a device",
                 code == 2 and err == "lstmad summary: error: /dev/zero: not a regular file (a character device)\n",
                 f"exit {code}: {err!r}")
    checks.check("...in bounded memory", peak < 300, f"{peak:.0f} MB")
    sparse = os.path.join(d, "huge.lstmad")
    with open(sparse, "wb") as f:
        f.truncate((2 << 30) - 1)  # just under the 2 GiB limit; sparse, so nothing is written
    code, err, peak = run_measured("summary", sparse)
    checks.check("summary of a 2 GiB file of zeros: exit 2, not a model file",
                 code == 2 and err == f"lstmad summary: error: {sparse}: not an lstmad model file (no LSTMADMF magic)\n",
                 f"exit {code}: {err!r}")
    checks.check("...refused by its header, without reading it", peak < 300, f"{peak:.0f} MB")
    os.unlink(sparse)


def main():
    checks = Checks()
    top = run("--help")
    checks.check("--help lists the subcommands",
                 all(s in top.stdout for s in ("train", "summary", "reconstruct", "score")))
    for sub in ("train", "summary", "reconstruct", "score"):
        proc = run(sub, "--help")
        checks.check(f"{sub} --help", proc.returncode == 0 and "usage: lstmad " + sub in proc.stdout)
    train_help = run("train", "--help").stdout
    checks.check("train --help documents every flag",
                 all(f"--{flag}" in train_help for flag in (
                     "data", "lookback", "features", "encoder", "decoder", "activation", "epochs",
                     "batch-size", "learning-rate", "validation-split", "patience", "scaler",
                     "threshold", "seed", "out")))
    expect_bad(checks, "unknown subcommand", ["frobnicate"], 'unknown subcommand "frobnicate"\n')
    expect_bad(checks, "unknown subcommand suggests the near one", ["trian"],
               'unknown subcommand "trian" (did you mean "train"?)')
    expect_bad(checks, "unknown flag", ["train", "--data", SEED_CSV, "--lookbak", "3"],
               "unknown flag --lookbak (did you mean --lookback?) (see lstmad train --help)")
    expect_bad(checks, "flag without value", ["train", "--data"], "--data needs a value")
    # Issue 18: an integer beyond int said "must be a positive integer".
    expect_bad(checks, "integer flag out of range gives the range",
               ["train", "--data", SEED_CSV, "--out", "x", "--lookback", "2147483648"],
               '--lookback must be an integer from 1 to 2147483647; "2147483648" is out of range')
    expect_bad(checks, "integer flag not an integer",
               ["train", "--data", SEED_CSV, "--out", "x", "--epochs", "3x"],
               '--epochs must be an integer from 1 to 2147483647; "3x" is not an integer')

    with tempdir() as d:
        model = os.path.join(d, "m.lstmad")
        run("train", "--data", SEED_CSV, "--lookback", 3, "--encoder", "8", "--decoder", "8",
            "--epochs", 2, "--validation-split", 0, "--out", model)
        ragged = write(os.path.join(d, "ragged.csv"), "x,x3\n0.1,0.2\n0.3\n")
        expect_bad(checks, "ragged row names file and line", ["score", "--model", model, "--data", ragged],
                   f"{ragged}:3", "ragged row")
        gap = write(os.path.join(d, "gap.csv"), "x,x3\n0.1,0.2\n0.3,\n0.5,0.6\n0.7,0.8\n")
        expect_bad(checks, "empty cell suggests --fill", ["score", "--model", model, "--data", gap],
                   f'{gap}:3:2 (column "x3"): empty cell (a gap: fill it from the row before, or drop its row: '
                   "lstmad's --fill forward|drop)")
        expect_bad(checks, "bad --fill", ["score", "--model", model, "--data", gap, "--fill", "zero"],
                   '--fill must be error, forward or drop, got "zero"')
        for fill, windows in (("forward", 2), ("drop", 1)):
            proc = run("score", "--model", model, "--data", gap, "--fill", fill, check=False)
            rows = [l for l in proc.stdout.splitlines() if l and l[0].isdigit()]
            checks.check(f"score --fill {fill}: {windows} window(s) of 3", proc.returncode == 0 and len(rows) == windows,
                         f"exit {proc.returncode}, stdout {proc.stdout!r}, stderr {proc.stderr!r}")
        stamps = ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z",
                  "2024-01-01T00:01:30Z", "2024-01-01T00:04:00Z", "2024-01-01T00:05:00Z"]
        back = write(os.path.join(d, "back.csv"),
                     "timestamp,x,x3\n" + "".join(f"{t},0.{i},0.{i + 1}\n" for i, t in enumerate(stamps)))
        svg = os.path.join(d, "back.svg")
        proc = run("score", "--model", model, "--data", back, "--plot", svg, check=False)
        with open(svg) as f:
            drawn = f.read()
        note = ("timestamps go backwards at data row 4 (2024-01-01T00:02:00Z, then 2024-01-01T00:01:30Z): "
                "the x axis is the row number")
        checks.check("score --plot says why the x axis is rows", proc.returncode == 0 and note in drawn,
                     proc.stderr)
        semi = write(os.path.join(d, "semi.csv"), "x;x3\n0.1;0.2\n0.3;0.4\n0.5;0.6\n")
        proc = run("score", "--model", model, "--data", semi, check=False)
        checks.check("score reads a semicolon-separated CSV", proc.returncode == 0, proc.stderr)
        text = write(os.path.join(d, "text.csv"), "x,x3\n0.1,0.2\n0.3,abc\n")
        expect_bad(checks, "non-numeric cell names file, line and column",
                   ["score", "--model", model, "--data", text], f"{text}:3:2", "x3")
        nan = write(os.path.join(d, "nan.csv"), "x,x3\n0.1,0.2\nnan,0.1\n")
        expect_bad(checks, "non-finite cell", ["score", "--model", model, "--data", nan], f"{nan}:3:1")
        empty = write(os.path.join(d, "empty.csv"), "")
        expect_bad(checks, "empty file", ["train", "--data", empty, "--lookback", 3, "--out", model],
                   empty, "empty")
        other = write(os.path.join(d, "other.csv"), "a,b\n1,2\n3,4\n5,6\n")
        expect_bad(checks, "unknown feature name", ["score", "--model", model, "--data", other],
                   other, '"x"')
        expect_bad(checks, "missing data file", ["score", "--model", model, "--data", d + "/nope.csv"],
                   "nope.csv")

        good = open(model, "rb").read()
        cases = {
            "truncated": good[: len(good) // 2],
            "wrong magic": b"NOTMODEL" + good[8:],
            "one flipped byte": good[:100] + bytes([good[100] ^ 0x40]) + good[101:],
            "empty": b"",
        }
        for name, data in cases.items():
            path = write(os.path.join(d, name.replace(" ", "_") + ".lstmad"), data, "wb")
            expect_bad(checks, f"{name} model file refused by name", ["summary", path], path)
        version = bytearray(good)
        version[8] = 99
        path = write(os.path.join(d, "version.lstmad"), bytes(version), "wb")
        expect_bad(checks, "wrong version refused", ["summary", path], path, "version")
        expect_bad(checks, "missing model file", ["summary", d + "/absent.lstmad"], "absent.lstmad")
        destinations(checks, d, model)
        huge_model_files(checks, d)

        # A timestamp column is used as the score's key and never as a feature.
        stamped = write(os.path.join(d, "stamped.csv"),
                        "timestamp,x,x3\n" + "".join(f"2024-01-01T00:00:0{i}Z,{i/10},{(i/10)**3}\n"
                                                     for i in range(1, 10)))
        rows = run("score", "--model", model, "--data", stamped).stdout.splitlines()
        checks.check("score keys rows by the last sample's timestamp",
                     rows[1].startswith("2024-01-01T00:00:03Z,") and len(rows) == 8, rows[1])
        rows = run("score", "--model", model, "--data", SEED_CSV).stdout.splitlines()
        checks.check("score keys rows by row index without timestamps",
                     [r.split(",")[0] for r in rows[1:]] == [str(i) for i in range(2, 9)])
    checks.finish()


if __name__ == "__main__":
    main()
