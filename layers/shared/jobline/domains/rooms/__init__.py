"""Room generation: room categories, rooms, and the job that creates one room per day."""
