#!/usr/bin/env python
"""movie-recs command line: the nightly run and the tools around it.

    python orchestrate.py nightly [--run-date YYYY-MM-DD] [--target local|s3|cluster]
    python orchestrate.py demo-data [--users N] [--movies M] [--days D] [--events E] [--seed S]
    python orchestrate.py load-movielens PATH [--span-days D]
    python orchestrate.py simulate-serving [--days N] [--variants als popularity] [--seed S]
    python orchestrate.py tune [--model implicit|explicit] [--grid rank=10,50 alpha=0.5,1 ...]
    python orchestrate.py sql "select ..." [--limit N]
    python orchestrate.py report [--out DIR]
    python orchestrate.py status [--json] [--limit N]
    python orchestrate.py env [--target local|s3|cluster]
    python orchestrate.py services start|stop

Exit codes of `nightly` (movie_recs.pipeline.nightly): 0 ok; 1 an input check,
a gate or a test failed, or another run holds the lock; 2 a bad var or
argument, PostgreSQL refused the connection, a service stayed unreachable, or
an unexpected error. The log says whether the new list was published.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, date, datetime, timedelta

from movie_recs.errors import UserError
from movie_recs.settings import PROFILES_DIR, PROJECT_ROOT, TARGETS, lake_on_s3


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def parse_var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--var takes NAME=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def with_target(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--target",
            choices=TARGETS,
            default=os.environ.get("DBT_TARGET", "local"),
            help="dbt target: the lake in a local folder, on S3, or on S3 computed by the "
            "Spark cluster in SPARK_MASTER (default: local)",
        )
        return sub

    nightly = with_target(
        commands.add_parser("nightly", help="run the five nightly tasks, then analytics")
    )
    nightly.add_argument(
        "--run-date",
        type=date.fromisoformat,
        default=yesterday(),
        help="the day the run covers; data up to the next midnight UTC (default: yesterday)",
    )
    nightly.add_argument(
        "--force", action="store_true", help="rerun a date that was already published"
    )

    def with_vars(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--var",
            type=parse_var,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="override a dbt var for this run (YAML value), e.g. --var max_rmse=1.2",
        )
        return sub

    with_vars(nightly)

    tune = with_vars(
        with_target(
            commands.add_parser(
                "tune", help="sweep ALS parameters on the evaluation split (never publishes)"
            )
        )
    )
    tune.add_argument("--model", choices=["implicit", "explicit"], default="implicit")
    tune.add_argument(
        "--grid",
        nargs="+",
        default=[],
        metavar="NAME=V1,V2",
        help="values per parameter (rank, reg_param, alpha, max_iter); default: "
        "rank=10,50,100 reg_param=0.1,1 alpha=0.5,1,5 (explicit: no alpha)",
    )

    demo = with_target(commands.add_parser("demo-data", help="generate synthetic inputs"))
    demo.add_argument("--users", type=int, default=2_000)
    demo.add_argument("--movies", type=int, default=1_000)
    demo.add_argument("--days", type=int, default=30)
    demo.add_argument("--events", type=int, default=200_000)
    demo.add_argument("--seed", type=int, default=42)

    movielens = with_target(commands.add_parser("load-movielens", help="load MovieLens ratings"))
    movielens.add_argument("path", help="a MovieLens folder, ratings.csv or u.data")
    movielens.add_argument(
        "--span-days",
        type=int,
        default=30,
        help="squeeze the ratings onto the last D days, order kept (0: only shift)",
    )

    serving = with_target(
        commands.add_parser("simulate-serving", help="simulate the online service's logs")
    )
    serving.add_argument("--days", type=int, default=7)
    serving.add_argument("--variants", nargs="+", default=["als", "popularity"])
    serving.add_argument("--seed", type=int, default=42)

    sql = with_target(commands.add_parser("sql", help="run Spark SQL over the lake, print a table"))
    sql.add_argument("query", help='e.g. "select * from movie_recs.fct_ctr_daily"')
    sql.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")

    report = with_target(commands.add_parser("report", help="write the HTML metrics report"))
    report.add_argument("--out", default="reports", help="folder for index.html and plots")

    status = commands.add_parser("status", help="the last runs and their metrics")
    status.add_argument("--json", action="store_true")
    status.add_argument("--limit", type=int, default=5)

    with_target(commands.add_parser("env", help="print export lines for the local services"))

    services = commands.add_parser("services", help="start or stop the local services")
    services.add_argument("action", choices=["start", "stop"])
    return parser


def _overrides(args) -> dict:
    import yaml

    return {name: yaml.safe_load(value) for name, value in args.var}


def cmd_nightly(args) -> int:
    from movie_recs.pipeline.nightly import run_nightly

    return run_nightly(args.run_date, args.target, args.force, _overrides(args))


def cmd_tune(args) -> int:
    from movie_recs.config import dbt_vars
    from movie_recs.lake.spark import get_spark, lake_root
    from movie_recs.model.als import AlsParams
    from movie_recs.model.evaluation import EvalSpec
    from movie_recs.model.tuning import DEFAULT_GRID, parse_grid, save, tune
    from movie_recs.pipeline.nightly import prepare_services

    implicit = args.model == "implicit"
    run_vars = dbt_vars(_overrides(args) | {"als_implicit": implicit})  # before any service
    prepare_services(args.target)
    grid = parse_grid(args.grid) or {
        k: v for k, v in DEFAULT_GRID.items() if implicit or k != "alpha"
    }
    spark = get_spark(args.target)
    matrix_table = "movie_recs.int_user_movie_scores_aggregated"
    if not spark.catalog.tableExists(matrix_table):
        print(f"{matrix_table} does not exist yet: run the nightly (or dbt build) first")
        return 2
    base, spec = AlsParams.from_vars(run_vars.get), EvalSpec.from_vars(run_vars.get)
    table = tune(spark.table(matrix_table), base, spec, grid)
    path = f"{lake_root(spark)}/tuning"
    save(spark, table, path)
    print(table.drop(columns=["tuned_at"]).to_string(index=False, float_format="%.4f"))
    print(f"\nappended to {path}; nothing was published")
    return 0


def _load(args, movies, events) -> int:
    from movie_recs.config import dbt_vars
    from movie_recs.lake.spark import get_spark
    from movie_recs.pipeline.context import as_of_for
    from movie_recs.pipeline.nightly import prepare_services
    from movie_recs.sources.loader import load_inputs

    pg = prepare_services(args.target)
    hours = float(dbt_vars()["archive_after_hours"])
    counts = load_inputs(
        get_spark(args.target), pg, movies, events, as_of_for(yesterday()), timedelta(hours=hours)
    )
    print(
        f"loaded {counts.movies} movies and {counts.events} events: "
        f"{counts.to_postgres} into rt_user_interactions, {counts.to_archive} into the archive"
    )
    return 0


def cmd_demo_data(args) -> int:
    from movie_recs.pipeline.context import as_of_for
    from movie_recs.sources.synthetic import DemoSpec, events_frames, movies_frame

    spec = DemoSpec(args.users, args.movies, args.days, args.events, args.seed)
    return _load(args, movies_frame(spec), events_frames(spec, as_of_for(yesterday())))


def cmd_load_movielens(args) -> int:
    from movie_recs.pipeline.context import as_of_for
    from movie_recs.sources.movielens import movielens_inputs

    movies, events = movielens_inputs(args.path, as_of_for(yesterday()), args.span_days)
    return _load(args, movies, [events])


def cmd_simulate_serving(args) -> int:
    from movie_recs.lake.spark import get_spark
    from movie_recs.pipeline.context import as_of_for
    from movie_recs.pipeline.nightly import prepare_services
    from movie_recs.sources.serving import ServingSpec, serve_into_postgres

    pg = prepare_services(args.target)
    spec = ServingSpec(args.days, tuple(args.variants), args.seed)
    n_logs, n_feedback = serve_into_postgres(
        get_spark(args.target), pg, spec, as_of_for(yesterday())
    )
    print(f"served {n_logs} items over {args.days} days; {n_feedback} feedback rows")
    return 0


def cmd_sql(args) -> int:
    from movie_recs.lake.spark import get_spark

    if lake_on_s3(args.target):
        from movie_recs.pipeline.nightly import prepare_services

        prepare_services(args.target)
    frame = get_spark(args.target).sql(args.query)
    frame.show(args.limit, truncate=False)
    return 0


def cmd_report(args) -> int:
    from pathlib import Path

    from movie_recs.analytics.report import build_report
    from movie_recs.lake.spark import get_spark
    from movie_recs.pipeline.nightly import prepare_services

    pg = prepare_services(args.target)
    path = build_report(get_spark(args.target), pg, Path(args.out).resolve())
    print(f"report written to {path}")
    return 0


def cmd_status(args) -> int:
    from movie_recs.pipeline.status import format_runs, recent_runs
    from movie_recs.services.postgres import ensure_postgres

    print(format_runs(recent_runs(ensure_postgres(), args.limit), as_json=args.json))
    return 0


def cmd_env(args) -> int:
    from movie_recs.services.postgres import ensure_postgres
    from movie_recs.services.s3 import ensure_s3

    variables = {**ensure_postgres().env(), "DBT_TARGET": args.target}
    if lake_on_s3(args.target):
        variables.update(ensure_s3().env())
    variables["DBT_PROFILES_DIR"] = str(PROFILES_DIR)
    for name, value in variables.items():
        print(f"export {name}={value}")
    return 0


def cmd_services(args) -> int:
    from movie_recs.services.postgres import LocalPostgres, ensure_postgres, settings_from_env
    from movie_recs.services.s3 import LocalS3Proxy, ensure_s3

    if args.action == "start":
        pg, s3 = ensure_postgres(), ensure_s3()
        print(f"PostgreSQL {pg.host}:{pg.port}, S3 {s3.endpoint_url} bucket {s3.bucket}")
    else:
        if settings_from_env() is None:
            LocalPostgres().stop()
        LocalS3Proxy().stop()
        print("local services stopped")
    return 0


COMMANDS = {
    "nightly": cmd_nightly,
    "demo-data": cmd_demo_data,
    "load-movielens": cmd_load_movielens,
    "simulate-serving": cmd_simulate_serving,
    "tune": cmd_tune,
    "sql": cmd_sql,
    "report": cmd_report,
    "status": cmd_status,
    "env": cmd_env,
    "services": cmd_services,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "target", None) not in (None, *TARGETS):
        # argparse checks --target against its choices, not a default from DBT_TARGET
        parser.error(f"DBT_TARGET={args.target!r} is not a target: {', '.join(TARGETS)}")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("great_expectations", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.chdir(PROJECT_ROOT)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"orchestrate.py {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        logging.getLogger("movie_recs").exception("%s failed", args.command)
        return 2


if __name__ == "__main__":
    sys.exit(main())
