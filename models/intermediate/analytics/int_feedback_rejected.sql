{# Feedback that cannot be attributed to any serve: set aside with a reason. #}
with

attributed as (

    select * from {{ ref('int_feedback_attributed') }}

),

rejected as (

    select
        feedback_id,
        serve_id,
        user_id,
        movie_id,
        action,
        feedback_at,
        attribution_status as reason
    from attributed
    where attribution_status in ('unknown_serve', 'serve_user_mismatch')

)

select * from rejected
