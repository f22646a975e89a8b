with

source as (

    select * from {{ source('app', 'recommendation_logs') }}

),

renamed as (

    select
        -- ids
        serve_id,
        user_id,
        movie_id,

        -- what was served
        position,
        model_version,
        variant,

        -- timestamps
        served_at

    from source

)

select * from renamed
