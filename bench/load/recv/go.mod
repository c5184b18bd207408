module vasms/loadrecv

go 1.19
