"""What users drive: the CLI, the scenario builder, the EMA adapter, reproduce, the explorer."""

#: What a command that draws figures after its runs has the runs' fork server import too
#: (``run_experiment(preload=...)``), so the figure workers forked from that server start with
#: matplotlib imported (about 0.3 s each, taken while the filtered start runs): at 1,000 runs of
#: three_scenarios the figures took 3.7-3.8 s instead of 3.9-4.0 s (7.2 instead of 7.8-7.9
#: CPU-s) and the command 8.0-8.1 s instead of 8.4-8.6 s (2026-12-07, 2 cores). A name, not an
#: import: the command starts the server before it imports matplotlib itself.
FIGURE_PRELOAD = ("borderscen.plots",)
