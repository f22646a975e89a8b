with

movies as (

    select * from {{ ref('stg_app__movies') }}

),

final as (

    select
        movie_id,
        title,
        genres,
        release_year,
        landed_at
    from movies

)

select * from final
