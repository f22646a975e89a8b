with

source as (

    select * from {{ source('app', 'recommendation_feedback') }}

),

renamed as (

    select
        -- ids
        feedback_id,
        serve_id,
        user_id,
        movie_id,

        -- what the user did
        lower(trim(action)) as action,  -- noqa: RF04

        -- timestamps
        feedback_at

    from source

)

select * from renamed
