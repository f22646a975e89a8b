{#
    The end (exclusive, UTC) of the data a run looks at: the run's as_of
    ("YYYY-MM-DD HH:MM:SS", set by orchestrate.py from the run date; see
    run_value), or midnight today when dbt is run by hand without it.
#}
{% macro as_of_timestamp() -%}
    {%- if run_value('as_of') -%}
        to_timestamp('{{ run_value("as_of") }}')
    {%- else -%}
        date_trunc('DAY', current_timestamp())
    {%- endif -%}
{%- endmacro %}
