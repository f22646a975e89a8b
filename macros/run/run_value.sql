{#
    One of the values that change every night (as_of, model_version,
    als_base_model): env var MOVIE_RECS_<NAME>, where orchestrate.py puts
    them, else the var of the same name. Changed vars make dbt parse the whole
    project again; a changed env var re-parses only the files that read it,
    so a nightly reuses the night before's parse. (Property files cannot call
    macros: they spell the same env_var(...) out.)
#}
{% macro run_value(name) -%}
    {{ return(env_var('MOVIE_RECS_' ~ name | upper, var(name))) }}
{%- endmacro %}
