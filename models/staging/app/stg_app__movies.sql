with

source as (

    select * from {{ source('app', 'movies') }}

),

renamed as (

    select
        -- ids
        cast(movie_id as bigint) as movie_id,

        -- attributes
        trim(title) as title,
        nullif(trim(genres), '(no genres listed)') as genres,
        cast(regexp_extract(title, '\\((\\d{4})\\)\\s*$', 1) as int) as release_year,

        -- timestamps
        _landed_at as landed_at

    from source

)

select * from renamed
