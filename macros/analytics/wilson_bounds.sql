{#
    95% Wilson score interval of successes / trials, as two columns
    `ctr_ci_low` and `ctr_ci_high` (z = 1.959963984540054).
#}
{% macro wilson_bounds(successes, trials, z=1.959963984540054) -%}
    (
        ({{ successes }} / {{ trials }} + {{ z }} * {{ z }} / (2 * {{ trials }}))
        - {{ z }} * sqrt(
            ({{ successes }} / {{ trials }}) * (1 - {{ successes }} / {{ trials }}) / {{ trials }}
            + {{ z }} * {{ z }} / (4 * {{ trials }} * {{ trials }})
        )
    ) / (1 + {{ z }} * {{ z }} / {{ trials }}) as ctr_ci_low,
    (
        ({{ successes }} / {{ trials }} + {{ z }} * {{ z }} / (2 * {{ trials }}))
        + {{ z }} * sqrt(
            ({{ successes }} / {{ trials }}) * (1 - {{ successes }} / {{ trials }}) / {{ trials }}
            + {{ z }} * {{ z }} / (4 * {{ trials }} * {{ trials }})
        )
    ) / (1 + {{ z }} * {{ z }} / {{ trials }}) as ctr_ci_high
{%- endmacro %}
