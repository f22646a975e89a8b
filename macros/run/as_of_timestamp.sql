{#
    The end (exclusive, UTC) of the data a run looks at: var `as_of`
    ("YYYY-MM-DD HH:MM:SS", set by orchestrate.py from the run date), or
    midnight today when dbt is run by hand without it.
#}
{% macro as_of_timestamp() -%}
    {%- if var('as_of') -%}
        to_timestamp('{{ var("as_of") }}')
    {%- else -%}
        date_trunc('DAY', current_timestamp())
    {%- endif -%}
{%- endmacro %}
