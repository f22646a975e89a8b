{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='serve_id',
    )
}}
{#
    Incremental: each night reprocesses the serves of the trailing
    attribution window (plus a day), so feedback that arrives late but
    inside the window still counts.
#}
with

serves as (

    select * from {{ ref('stg_app__recommendation_logs') }}
    {% if is_incremental() %}
        where served_at >= (
            -- an empty table (no serves yet) reprocesses everything; a serve
            -- counts up to the run's as_of, so one stamped in the future
            -- cannot move the bound past the serves still to come
            select
                coalesce(
                    max(
                        least(current_rows.served_at, {{ as_of_timestamp() }})
                    ) - make_interval(
                        0, 0, 0, 1, {{ var('attribution_window_hours') }}
                    ),
                    timestamp '1970-01-01 00:00:00'
                )
            from {{ this }} as current_rows
        )
    {% endif %}

),

feedback as (

    select * from {{ ref('int_feedback_attributed') }}
    where attribution_status = 'attributed'

),

outcomes as (

    select
        serve_id,
        min(case when action = 'click' then feedback_at end) as first_clicked_at,
        min(case when action = 'watch' then feedback_at end) as first_watched_at,
        min(case when action = 'dismiss' then feedback_at end) as first_dismissed_at
    from feedback
    group by serve_id

),

final as (

    select
        -- ids
        serves.serve_id,
        serves.user_id,
        serves.movie_id,

        -- what was served
        serves.position,
        serves.model_version,
        serves.variant,

        -- outcomes inside the attribution window
        outcomes.first_clicked_at is not null as is_clicked,
        outcomes.first_watched_at is not null as is_watched,
        outcomes.first_dismissed_at is not null as is_dismissed,

        -- timestamps
        serves.served_at,
        to_date(serves.served_at) as served_date,
        outcomes.first_clicked_at,
        outcomes.first_watched_at

    from serves
    left join outcomes
        on serves.serve_id = outcomes.serve_id

)

select * from final
