{#
    Every non-null value lies in [min_value, max_value]; NaN fails too
    (in Spark SQL NaN is larger than any number).
#}
{% test values_between(model, column_name, min_value, max_value) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} < {{ min_value }}
    or {{ column_name }} > {{ max_value }}
    or isnan({{ column_name }})

{% endtest %}
