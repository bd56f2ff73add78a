"""The one owner of the layout of a run directory and of compare / context / bench directories.

Every path (`RunPaths`, `SweepPaths`), every reader and writer of their files, and the typed summaries
with their sentences live here; no other module spells a file or folder name of these directories.
Readers validate what they read: a missing, corrupt or wrongly shaped file raises
`rnnscope.io.RunFileError` (a `rnnscope.errors.BadRunDirectory`) naming the file.

    layout.py     RunPaths, AnalysisPaths, GradientPaths, FixedPointPaths, SweepPaths, Figure (the layout)
    run.py        lock, config, status, history, metrics, model; prepare_output
    tables.py     CSV tables: read_table (validated), write_csv, units.csv, profile.csv
    arrays.py     analysis arrays, gradient snapshots, the recording, PNG figures
    summaries.py  AnalysisSummary, GradientSummary, CompanionSummary, PipelineLog (+ their sentences)
    fixedpoint_summary.py  FixedPointSummary, PointSystem (+ their sentences and report captions)
    sweeps.py     sweep.json, ContextSummary, BenchSummary (+ their sentences)
    imported.py   imported runs and activity directories: ImportSummary, ActivitySummary, dir_kind
    transfer.py   a run directory as {path: bytes}: what a remote sweep job sends back

This package imports only rnnscope.io, rnnscope.errors and (to open a recording) rnnscope.recording.store.
"""

from rnnscope.rundir.arrays import (
    Snapshots,
    open_recording,
    png_size,
    read_arrays,
    read_png,
    read_snapshots,
    write_arrays,
)
from rnnscope.rundir.fixedpoint_summary import (
    FixedPointSummary,
    PointSystem,
    read_fixed_point_summary,
    write_fixed_point_summary,
)
from rnnscope.rundir.imported import (
    ActivitySummary,
    ImportSummary,
    dir_kind,
    read_activity_summary,
    read_data_arrays,
    read_import_summary,
)
from rnnscope.rundir.layout import AnalysisPaths, Figure, FixedPointPaths, GradientPaths, RunPaths, SweepPaths
from rnnscope.rundir.run import (
    CONFIG_HINT,
    STATUSES,
    RunLock,
    RunLockedError,
    check_files,
    clear_run,
    file_hashes,
    is_run,
    load_model_state,
    prepare_output,
    read_config,
    read_history,
    read_metrics,
    read_status,
    save_model,
    verify_config,
    write_config,
    write_history,
    write_metrics,
    write_status,
)
from rnnscope.rundir.summaries import (
    QUANTITY,
    AnalysisSummary,
    CompanionSummary,
    DecayRow,
    GradientSummary,
    LayerUnits,
    PipelineLog,
    StageResult,
    read_analysis_summary,
    read_gradient_summary,
    read_pipeline_log,
    write_analysis_summary,
    write_gradient_summary,
    write_pipeline_log,
)
from rnnscope.rundir.sweeps import (
    BenchSummary,
    ContextSummary,
    ModelContext,
    SweepFile,
    chance_lines,
    check_sweep_dir,
    context_text,
    flagged_at_chance,
    read_bench_summary,
    read_context_summary,
    read_sweep_file,
    write_bench_summary,
    write_context_summary,
    write_sweep_file,
)
from rnnscope.rundir.tables import (
    UNIT_COLUMNS,
    Table,
    profile_by_step,
    read_csv,
    read_profile,
    read_table,
    read_units,
    write_csv,
    write_units_csv,
)
from rnnscope.rundir.transfer import read_run_files, write_run_files

__all__ = [
    "ActivitySummary",
    "ImportSummary",
    "dir_kind",
    "read_activity_summary",
    "read_data_arrays",
    "read_import_summary",
    "chance_lines",
    "flagged_at_chance",
    "read_run_files",
    "write_run_files",
    "CONFIG_HINT",
    "QUANTITY",
    "STATUSES",
    "UNIT_COLUMNS",
    "AnalysisPaths",
    "AnalysisSummary",
    "BenchSummary",
    "CompanionSummary",
    "ContextSummary",
    "DecayRow",
    "Figure",
    "FixedPointPaths",
    "FixedPointSummary",
    "GradientPaths",
    "GradientSummary",
    "LayerUnits",
    "ModelContext",
    "PipelineLog",
    "PointSystem",
    "RunLock",
    "RunLockedError",
    "RunPaths",
    "Snapshots",
    "StageResult",
    "SweepFile",
    "SweepPaths",
    "Table",
    "check_files",
    "check_sweep_dir",
    "clear_run",
    "context_text",
    "file_hashes",
    "is_run",
    "load_model_state",
    "open_recording",
    "png_size",
    "prepare_output",
    "profile_by_step",
    "read_analysis_summary",
    "read_arrays",
    "read_bench_summary",
    "read_config",
    "read_context_summary",
    "read_fixed_point_summary",
    "read_csv",
    "read_gradient_summary",
    "read_history",
    "read_metrics",
    "read_pipeline_log",
    "read_png",
    "read_profile",
    "read_snapshots",
    "read_status",
    "read_sweep_file",
    "read_table",
    "read_units",
    "save_model",
    "verify_config",
    "write_analysis_summary",
    "write_arrays",
    "write_bench_summary",
    "write_config",
    "write_context_summary",
    "write_csv",
    "write_fixed_point_summary",
    "write_gradient_summary",
    "write_history",
    "write_metrics",
    "write_pipeline_log",
    "write_status",
    "write_sweep_file",
    "write_units_csv",
]
