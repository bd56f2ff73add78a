"""The work of each command: a run (or sweep) directory in, files out.

    train.py      train / resume a run, then draw its training curves      (`rnnscope train`)
    record.py     record a split through the trained model                 (`rnnscope record`)
    analyze.py    record if needed, analyse units, write analysis/         (`rnnscope analyze`)
    gradients.py  measure gradient flow, write gradients/                  (`rnnscope gradients`)
    companion.py  the gated companion trained alongside a tanh RNN         (`rnnscope run`)
    sweeps.py     run a sweep's jobs into its directory                    (compare, context)
    compare.py    results.csv and the comparison figures                   (`rnnscope compare`)
    context.py    context.csv, context.json and the context figure         (`rnnscope context`)
    bench.py      cost.csv, summary.json and the cost figures              (`rnnscope bench`)
    pipeline.py   train -> record -> analyze -> gradients -> companion -> report   (`rnnscope run`)

Stages call the compute packages (training, recording, gradients, analysis, sweep, costs), draw with
rnnscope.plots and read and write through rnnscope.rundir. Compute packages never draw.
"""
