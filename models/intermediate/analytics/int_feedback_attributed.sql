{#
    Every feedback row, matched to the serve it answers and classified:
    - attributed: inside the attribution window after the serve, the first
      of its action for that serve (duplicates count once);
    - duplicate: the same action on the same serve again;
    - outside_window: before the serve or later than the window;
    - unknown_serve / serve_user_mismatch: rejected (int_feedback_rejected).
#}
with

feedback as (

    select * from {{ ref('stg_app__recommendation_feedback') }}

),

serves as (

    select * from {{ ref('stg_app__recommendation_logs') }}

),

matched as (

    select
        feedback.feedback_id,
        feedback.serve_id,
        feedback.user_id,
        feedback.movie_id,
        feedback.action,
        feedback.feedback_at,
        serves.served_at,
        serves.serve_id is not null as has_serve,
        -- null-safe: feedback without a user is not the serve's user's
        serves.user_id <=> feedback.user_id as is_users_serve
    from feedback
    left join serves
        on feedback.serve_id = serves.serve_id

),

in_window as (

    select
        *,
        has_serve
        and feedback_at >= served_at
        and feedback_at < served_at + make_interval(
            0, 0, 0, 0, {{ var('attribution_window_hours') }}
        ) as is_in_window
    from matched

),

ranked as (

    select
        *,
        -- ranked among the serve's user's own feedback only: another user's
        -- earlier row is rejected and must not make the real one a duplicate
        row_number() over (
            partition by serve_id, action, is_in_window, is_users_serve
            order by feedback_at, feedback_id
        ) as action_rank
    from in_window

),

final as (

    select
        feedback_id,
        serve_id,
        user_id,
        movie_id,
        action,
        feedback_at,
        served_at,
        case
            when not has_serve then 'unknown_serve'
            when not is_users_serve then 'serve_user_mismatch'
            when not is_in_window then 'outside_window'
            when action_rank > 1 then 'duplicate'
            else 'attributed'
        end as attribution_status
    from ranked

)

select * from final
